//! L5 analytics rules: reproducibility artifacts (key, input-window hashing, immutability).
//!
//! Not built yet: the artifact rules land with the analytics issue. The crate exists so the workspace already
//! has the layer the design card names, and the layering rules can name it.
