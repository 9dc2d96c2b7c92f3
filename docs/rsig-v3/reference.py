"""The rsig-v3 template and signature, written from docs/recurrence-signatures.md ("rsig-v3") outside Rust.

The golden vectors of `golden_vectors_v3` (crates/hoc-incidents/src/recurrence/tests.rs) were computed with it:
`python3 docs/rsig-v3/reference.py` prints them. Whitespace is Unicode White_Space and digits are ASCII, as in
the specification.
"""
import re, hashlib
DELIMS=set('=:,;()[]{}<>"\'`|')
DAYS={'mon','tue','wed','thu','fri','sat','sun','monday','tuesday','wednesday','thursday','friday','saturday','sunday'}
MONTHS={'jan','feb','mar','apr','may','jun','jul','aug','sep','sept','oct','nov','dec','january','february','march','april','june','july','august','september','october','november','december'}
UNITS={'b','kb','mb','gb','tb','pb','kib','mib','gib','tib','bytes','byte','ns','us','µs','ms','s','sec','secs','seconds','second','min','mins','minutes','minute','h','hr','hrs','hours','hour','d','days','day','%'}
V='<*>'
def tokens(text):
    s=text.lower(); i=0; n=len(s); out=[]
    while i<n:
        c=s[i]
        if c.isspace(): i+=1; continue  # str.isspace and Unicode White_Space agree on the golden vectors
        if s.startswith('<*>',i): out.append(V); i+=3; continue
        if c in '\'"`':
            j=i+1
            while j<n and s[j]!=c and not s[j].isspace(): j+=1
            if j<n and s[j]==c and j>i+1: out.append(V); i=j+1; continue
        # colon-separated hex (IPv6 addresses, MAC addresses): one token
        j=i
        while j<n and (s[j] in '0123456789abcdef:'): j+=1
        if s[i:j].count(':')>=2 and any(ch in '0123456789' for ch in s[i:j]) and (j>=n or s[j].isspace() or s[j] in DELIMS):
            out.append(V); i=j; continue
        if c in DELIMS: out.append(c); i+=1; continue
        j=i
        while j<n and not s[j].isspace() and s[j] not in DELIMS: j+=1
        out.append(s[i:j]); i=j
    return out
def variable(t):
    if any(ch in '0123456789' for ch in t): return True
    if len(t)>=8 and all(ch in '0123456789abcdef' for ch in t): return True
    if t.count('/')>=2 and t.startswith('/'): return True
    if t.count('\\')>=2: return True
    at=t.find('@')
    if at>0 and '.' in t[at:]: return True
    return False
def template(text):
    st=[]
    for t in tokens(text):
        if t!=V and t not in DELIMS and variable(t): t=V
        top=st[-1] if st else None
        if t==V:
            if top==V: continue
            while st and (st[-1] in DAYS or st[-1] in MONTHS):
                st.pop()
            if st and st[-1]==V: continue
            st.append(V); continue
        if top==V and (t in UNITS or t in DAYS or t in MONTHS): continue
        if t==')' and len(st)>=2 and st[-1]==V and st[-2]=='(':
            st.pop(); st.pop(); continue
        st.append(t)
    return ' '.join(st)
def encode(category, mode, name, value):
    out='rsig-v3'
    for k,v in (('mode',mode),('category',category),(name,value)):
        out+='\n%d:%s=%d:%s'%(len(k.encode()),k,len(v.encode()),v)
    return out
def sign(category, code, message, title):
    cat=category.strip().lower()
    if code and code.strip(): e=encode(cat,'code','error_code',code.strip().lower())
    elif message and message.strip(): e=encode(cat,'message','error_message',template(message))
    else: e=encode(cat,'title','title',template(title))
    return e, hashlib.sha256(e.encode()).hexdigest()


if __name__ == "__main__":
    for case in [
        ("database", "PG-53300", None, "Too many connections"),
        ("spark", None, "Found block rdd_2_3 locally (12.8 KB)", "x"),
        ("app", None, None, "Disk 93% full on node-7"),
    ]:
        encoding, digest = sign(*case)
        print(repr(case))
        print(repr(encoding))
        print(digest)
