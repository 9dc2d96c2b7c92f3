# Writes messages.tsv (run once; the file is committed and fixed). python3 generate.py
import random
random.seed(20261128)
R = random.Random(7)
def ip(): return "10.%d.%d.%d" % (R.randint(0,255),R.randint(0,255),R.randint(1,254))
def ip6(): return "2001:db8:%x::%x" % (R.randint(1,0xffff),R.randint(1,0xffff))
def host(): return R.choice(["db","pg","redis","kafka","api","auth","search"]) + "-%d.%s.%s" % (R.randint(1,40), R.choice(["prod","stg","eu1","us2"]), R.choice(["internal","example.com","svc.cluster.local"]))
def port(): return str(R.choice([5432,6379,9092,443,8080,3306,R.randint(1024,65000)]))
def dur(): return R.choice(["%ds"%R.randint(1,120),"%dms"%R.randint(5,9000),"%d seconds"%R.randint(2,90),"%.1fs"%(R.random()*30),"%dm%ds"%(R.randint(1,9),R.randint(1,59))])
def size(): return R.choice(["%dMB"%R.randint(64,4096),"%d MiB"%R.randint(64,4096),"%.1fGB"%(R.random()*16),"%d bytes"%R.randint(1000,10**7),"%dKiB"%R.randint(4,900)])
def uuid(): return "%08x-%04x-4%03x-a%03x-%012x" % (R.getrandbits(32),R.getrandbits(16),R.getrandbits(12),R.getrandbits(12),R.getrandbits(48))
def table(): return R.choice(["users","orders","order_items","payments_2026","sessions","invoices","audit_log"])
def col(): return R.choice(["email","user_id","sku","created_at","tenant_id","status"])
def path(): return "/" + "/".join(R.choice(["var","srv","data","opt","app","tmp","mnt","vol"]) for _ in range(R.randint(1,2))) + "/" + R.choice(["app","cache","uploads","logs","index"]) + "/" + R.choice(["%d.bin"%R.randint(1,999),"segment-%d.log"%R.randint(1,99),"state.json","db.sqlite"])
K8S = "bcdfghjklmnpqrstvwxz2456789"
def pod(svc): return "%s-%s-%s" % (svc, "".join(R.choice(K8S) for _ in range(R.choice([9,10]))), "".join(R.choice(K8S) for _ in range(5)))
def email(): return "%s.%s@%s" % (R.choice(["ana","bo","chen","dee","eli"]), R.choice(["k","m","ops","x"]), R.choice(["example.com","corp.io","mail.example.org"]))
def url(): return "https://%s/v%d/%s/%d?trace=%x" % (R.choice(["api.partner.com","hooks.example.com","pay.example.io"]), R.randint(1,3), R.choice(["orders","refunds","users"]), R.randint(1,99999), R.getrandbits(40))
def num(a,b): return str(R.randint(a,b))

# label, category, code-maker, title-maker, message-maker
G = [
 ("pg-conn-refused","database",None,lambda:"Postgres unreachable",lambda:f"could not connect to server: Connection refused. Is the server running on host \"{host()}\" ({ip()}) and accepting TCP/IP connections on port {port()}?"),
 ("pg-too-many","database",lambda:"PG-53300",lambda:"Connection pool exhausted",lambda:f"FATAL: sorry, too many clients already ({num(90,500)} of {num(90,500)})"),
 ("pg-relation","database",None,lambda:"Missing relation",lambda:f"ERROR: relation \"{table()}\" does not exist at character {num(10,300)}"),
 ("pg-deadlock","database",None,lambda:"Deadlock",lambda:f"ERROR: deadlock detected. Process {num(1000,99999)} waits for ShareLock on transaction {num(10**6,10**8)}; blocked by process {num(1000,99999)}."),
 ("mysql-dup","database",None,lambda:"Duplicate key",lambda:f"Duplicate entry '{email()}' for key '{table()}.{col()}'"),
 ("pg-stmt-timeout","database",None,lambda:"Slow query",lambda:f"canceling statement due to statement timeout after {dur()}"),
 ("redis-timeout","cache",None,lambda:"Redis timeout",lambda:f"redis: i/o timeout reading from {host()}:{port()} after {dur()}"),
 ("redis-oom","cache",None,lambda:"Redis OOM",lambda:f"OOM command not allowed when used memory > 'maxmemory' ({size()} used of {size()})"),
 ("http-upstream-timeout","network",None,lambda:"Gateway timeout",lambda:f"upstream request timeout: {host()} did not respond within {dur()}"),
 ("http-5xx-partner","integrations",None,lambda:"Partner API errors",lambda:f"POST {url()} returned 502 Bad Gateway"),
 ("dns-fail","network",None,lambda:"DNS failure",lambda:f"dial tcp: lookup {host()} on {ip()}:53: no such host"),
 ("tls-expired","network",lambda:"TLS-CERT-EXPIRED",lambda:"Certificate expired",lambda:f"x509: certificate has expired or is not yet valid: current time {R.randint(2025,2026)}-{num(10,12)}-{num(10,28)}T{num(10,23)}:{num(10,59)}:{num(10,59)}Z is after {R.randint(2024,2025)}-0{num(1,9)}-{num(10,28)}"),
 ("conn-reset-v6","network",None,lambda:"Connection reset",lambda:f"read tcp [{ip6()}]:{port()}->[{ip6()}]:{port()}: read: connection reset by peer"),
 ("k8s-oomkilled","kubernetes",None,lambda:"Pod OOMKilled",lambda:f"container api in pod {pod('checkout')} was OOMKilled: memory limit {size()} exceeded (usage {size()})"),
 ("k8s-crashloop","kubernetes",None,lambda:"CrashLoopBackOff",lambda:f"Back-off restarting failed container app in pod {pod('billing')}: restarted {num(3,40)} times in {dur()}"),
 ("disk-full","storage",None,lambda:"Disk full",lambda:f"write {path()}: no space left on device ({size()} free)"),
 ("perm-denied","storage",None,lambda:"Permission denied",lambda:f"open {path()}: permission denied (uid {num(100,65000)})"),
 ("s3-access","storage",lambda:"S3-AccessDenied",lambda:"S3 access denied",lambda:f"AccessDenied: Access Denied for s3://{R.choice(['logs','backups','exports'])}-{num(1,9)}/{uuid()}.parquet"),
 ("jvm-npe","application",None,lambda:"NPE in checkout",lambda:f"java.lang.NullPointerException: Cannot invoke \"com.shop.Cart.total()\" because \"cart\" is null at com.shop.Checkout.pay(Checkout.java:{num(40,400)})"),
 ("jvm-oom","application",None,lambda:"Java heap space",lambda:f"java.lang.OutOfMemoryError: Java heap space (heap {size()}, requested {size()}) in thread \"worker-{num(1,64)}\""),
 ("py-keyerror","application",None,lambda:"KeyError in importer",lambda:f"KeyError: '{R.choice(['sku','price','customer_id','currency'])}' while importing order {uuid()}"),
 ("order-not-found","application",None,lambda:"Order lookup failed",lambda:f"order {uuid()} not found for customer {num(1000,999999)}"),
 ("smtp-bounce","email",None,lambda:"Mail bounced",lambda:f"550 5.1.1 <{email()}>: Recipient address rejected: user unknown in virtual mailbox table"),
 ("webhook-sig","integrations",lambda:"WEBHOOK-401",lambda:"Webhook rejected",lambda:f"signature mismatch for delivery {uuid()} from {ip()}"),
 ("job-overrun","jobs",None,lambda:"Nightly job overran",lambda:f"job 'nightly-{R.choice(['export','rollup','billing'])}' exceeded its window: ran {dur()} (limit {dur()})"),
 ("segfault","runtime",None,lambda:"Native crash",lambda:f"worker {num(1,32)} (pid {num(1000,65000)}) killed by SIGSEGV at 0x{R.getrandbits(44):x}, build {R.getrandbits(40):010x}"),
 ("redis-refused","cache",None,lambda:"Redis down",lambda:f"dial tcp {ip()}:6379: connect: connection refused"),
 ("jvm-metaspace","application",None,lambda:"Metaspace",lambda:f"java.lang.OutOfMemoryError: Metaspace (committed {size()}) in thread \"worker-{num(1,64)}\""),
 ("inode-title","capacity",None,lambda:f"Inodes {num(80,99)}% used on node-{num(1,60)} ({num(100,9000)} left)",None),
 ("lag-title","replication",None,lambda:f"Replica lag {dur()} on {host()}",None),
 ("cert-title","security",None,lambda:f"Certificate for {host()} expires in {num(2,29)} days",None),
 ("disk-title","capacity",None,lambda:f"Disk {num(80,99)}% full on node-{num(1,60)} ({size()} left)",None),
]
rows=[]
for label,cat,code,title,msg in G:
    n = 7
    for k in range(n):
        c = code() if code else ""
        m = msg() if msg else ""
        rows.append("\t".join([label,cat,c,title(),m]))
R.shuffle(rows)
hdr = "# label\tcategory\terror_code\ttitle\terror_message — realistic incident messages, labelled with the group each should join.\n# Generated once by hand-written templates with random hosts, addresses, durations, sizes, ids and names; kept fixed.\n"
open(__file__.replace("generate.py", "messages.tsv"),"w").write(hdr+"\n".join(rows)+"\n")
print(len(rows))
