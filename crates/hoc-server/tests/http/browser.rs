//! A real browser for the console's tests: Debian's headless Chromium driven over the W3C WebDriver protocol by
//! Debian's `chromedriver`, which each test starts on a free loopback port. The protocol is JSON over HTTP, so this
//! client is a few calls on `reqwest`.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The element reference key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session, both ended when dropped.
pub(crate) struct Browser {
    _driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub(crate) struct Element(String);

impl Element {
    /// The element as a script argument.
    pub(crate) fn arg(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium window of `width` × `height`; `None` (said on stderr) where
    /// Chromium is not installed, except on CI, which fails without it.
    pub(crate) async fn start(width: u32, height: u32) -> Option<Self> {
        let driver = crate::installed(&["chromedriver"], "chromium-driver")?;
        crate::installed(&["chromium"], "chromium")?;
        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "chromedriver runs (Debian packages chromium and chromium-driver; .ci/run installs them)",
            );
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(res) = http.get(format!("{base}/status")).send().await
                && let Ok(status) = res.json::<Value>().await
                && status["value"]["ready"] == json!(true)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready within 10 s");
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&json!({
                "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 format!("--window-size={width},{height}")]
                    }
                }}
            }))
            .send()
            .await
            .expect("new session answered")
            .json()
            .await
            .expect("json");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a browser session: {created}"))
            .to_owned();
        Some(Self {
            _driver: driver,
            base,
            session,
            http,
        })
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let answer: Value = req
            .send()
            .await
            .expect("webdriver answers")
            .json()
            .await
            .expect("json");
        assert!(
            answer["value"].get("error").is_none(),
            "webdriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// Loads `url` and waits for the page.
    pub(crate) async fn go(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// Reloads the page.
    pub(crate) async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    /// The page's address.
    pub(crate) async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits up to 5 s for the address to contain `part` (a navigation a click started); the address then.
    pub(crate) async fn wait_url(&self, part: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            let url = self.url().await;
            if url.contains(part) || start.elapsed() > Duration::from_secs(5) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub(crate) async fn eval(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The elements matching `css` now.
    pub(crate) async fn all(&self, css: &str) -> Vec<Element> {
        self.post(
            "/elements",
            json!({ "using": "css selector", "value": css }),
        )
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_owned())))
        .collect()
    }

    /// The first element matching `css`, waiting up to `within` for it to appear.
    pub(crate) async fn wait_for(&self, css: &str, within: Duration) -> Option<Element> {
        let start = std::time::Instant::now();
        loop {
            if let Some(found) = self.all(css).await.into_iter().next() {
                return Some(found);
            }
            if start.elapsed() > within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The first element matching `css`, which must appear within 5 s (a page still loading after a click).
    pub(crate) async fn find(&self, css: &str) -> Element {
        match self.wait_for(css, Duration::from_secs(5)).await {
            Some(found) => found,
            None => {
                let (url, source) = (self.url().await, self.get("/source").await);
                let raw = self
                    .post(
                        "/elements",
                        json!({ "using": "css selector", "value": css }),
                    )
                    .await;
                let count = self
                    .eval(
                        "return document.querySelectorAll(arguments[0]).length;",
                        json!([css]),
                    )
                    .await;
                panic!(
                    "no element matches `{css}` within 5 s at {url} (elements: {raw}, querySelectorAll: {count}); \
                     the page:\n{source}"
                )
            }
        }
    }

    /// The rendered text of `element`.
    pub(crate) async fn text(&self, element: &Element) -> String {
        self.get(&format!("/element/{}/text", element.0))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// An attribute of `element`.
    pub(crate) async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.get(&format!("/element/{}/attribute/{name}", element.0))
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// Types `text` into `element`.
    pub(crate) async fn type_into(&self, element: &Element, text: &str) {
        self.post(&format!("/element/{}/clear", element.0), json!({}))
            .await;
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Clicks `element`.
    pub(crate) async fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    /// The browser's cookies for the current page (HttpOnly ones included: WebDriver sees them, scripts do not).
    pub(crate) async fn cookies(&self) -> Vec<Value> {
        self.get("/cookie")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Resizes the window.
    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    /// A PNG of the viewport, written to `path`.
    pub(crate) async fn screenshot(&self, path: &std::path::Path) {
        let png = self.get("/screenshot").await;
        let bytes = base64_decode(png.as_str().unwrap_or_default());
        std::fs::write(path, bytes).expect("screenshot written");
    }
}

impl Drop for Browser {
    /// Ends the browser session (so Chromium exits) before the driver is killed: a blocking `DELETE` on the
    /// driver's loopback port, which a panicking test also runs.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let Some(address) = self.base.strip_prefix("http://") else {
            return;
        };
        if let Ok(mut stream) = std::net::TcpStream::connect(address) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                stream,
                "DELETE /session/{} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
    }
}

/// Standard base64 (the screenshot's encoding) decoded; invalid characters are skipped.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
