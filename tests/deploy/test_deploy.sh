#!/usr/bin/env bash
# tests/deploy/test_deploy.sh — the deployment recipe, checked and run: deploy/nginx/localdx.conf
# passes `nginx -t` and fronts a real localdx-server over TLS and HTTP/2; the server's security
# headers arrive intact (plus HSTS); plain HTTP is redirected; oversized bodies and slow headers
# are refused by nginx; the server sees each client's own address (X-Real-IP from its trusted
# proxy), so one client's rate limit does not stop another; the server's errors keep their shape;
# deploy/systemd/localdx-server.service passes `systemd-analyze verify`.
#
# Usage: test_deploy.sh SERVER_BIN SOURCE_DIR DEMO_DIR WORK_DIR
set -uo pipefail
server_bin=$1 src=$2 demo=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work"
passed=0 failed=0
ok()  { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -f nginx.pid ] && kill "$(cat nginx.pid)" 2>/dev/null; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
app=$(free_port) https=$(free_port) http=$(free_port)

#-- the systemd unit ------------------------------------------------------------
# Verified as shipped, with the binary path pointed at this build.
mkdir -p unit
sed "s|/usr/local/bin/localdx-server|$server_bin|" "$src/deploy/systemd/localdx-server.service" > unit/localdx-server.service
if out=$(systemd-analyze verify "$work/unit/localdx-server.service" 2>&1); then ok; else bad "systemd-analyze verify: $out"; fi
for key in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes StateDirectory=localdx readyz; do
  grep -q "$key" unit/localdx-server.service && ok || bad "the unit lacks $key"
done

#-- the server and nginx in front of it -----------------------------------------
printf 'deploy-admin-token-0123456789abcdef\n' > token
printf 'deploy-operator-token-0123456789abcdef\n' > operator-tokens
"$server_bin" --port "$app" --data data --trust "$demo/keys/trust.json" --index-key "$demo/keys/signing-key.json" \
  --token-file token --operator-token-file operator-tokens --trusted-proxy 127.0.0.1 --max-connections-per-source 0 \
  --rate-limit 2 --no-access-log > server.log 2>&1 &
pids+=($!)
# The shipped site, with this test's certificate, ports and instance.
bash "$src/tests/support/nginx-site.sh" "$src" "$work" "$https" "$http" "$app"
if out=$(nginx -t -p "$work" -c "$work/nginx.conf" -g "pid $work/nginx.pid; user root;" 2>&1); then ok; else bad "nginx -t: $out"; fi
nginx -p "$work" -c "$work/nginx.conf" -g "pid $work/nginx.pid; user root;" 2>>logs/start.log || bad "nginx did not start"
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$app/readyz" 2>/dev/null && break; sleep 0.1; done
base=https://127.0.0.1:$https
c() { curl -sk --max-time 20 "$@"; }

# HTTP/2 over TLS, the server's security headers intact, HSTS added.
headers=$(c --http2 -D - -o /dev/null "$base/api/v1/models")
grep -q '^HTTP/2 200' <<<"$headers" && ok || bad "no HTTP/2 200 for the index: $headers"
for h in content-security-policy cross-origin-opener-policy cross-origin-embedder-policy x-content-type-options strict-transport-security; do
  grep -qi "^$h:" <<<"$headers" && ok || bad "header $h missing through nginx"
done
grep -qi '^server: nginx/' <<<"$headers" && bad "nginx tells its version" || ok
# Plain HTTP is redirected to HTTPS.
c -D - -o /dev/null "http://127.0.0.1:$http/x" | grep -qi '^location: https://' && ok || bad "plain HTTP is not redirected"

# Publishing through nginx (a bundle is larger than a report's 64 KiB cap), then the index.
status=$(c -o publish.json -w '%{http_code}' -H "Authorization: Bearer $(cat token)" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$demo/bundles/pima-diabetes-1.ldxb" "$base/api/v1/bundles")
[ "$status" = 201 ] && ok || bad "publish through nginx: $status $(cat publish.json)"
c "$base/api/v1/models" | grep -q '"pima-diabetes"' && ok || bad "the index through nginx does not list the bundle"

# A report body over 64 KiB is refused by nginx before any instance reads it.
head -c 100000 /dev/zero | tr '\0' 'a' > big.json
status=$(c -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @big.json "$base/api/v1/metrics")
[ "$status" = 413 ] && ok || bad "a 100 KB report was answered $status, not 413"

# The server's refusals keep their shape through nginx.
body=$(c -H 'Content-Type: application/json' --data '{"model": 1}' "$base/api/v1/metrics")
/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); p=j["problems"]; assert j["ok"] is False and set(j)=={"ok","problems"} and p[0]["code"]=="bad_report" and p[0]["message"], j' "$body" \
  && ok || bad "error shape through nginx: $body"

# Each client has its own rate limit (2 a minute here): the server sees X-Real-IP, not nginx.
# The first client (127.0.0.1) has one request left after the check above; then it is limited.
report() { c -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data '{}' "$@" "$base/api/v1/metrics"; }
report > /dev/null
status=$(report)
[ "$status" = 429 ] && ok || bad "the third report from one client was answered $status, not 429"
status=$(report --interface 127.0.0.2)
[ "$status" = 400 ] && ok || bad "another client (127.0.0.2) was answered $status: the server does not see its address"
# A forged X-Real-IP from a client is replaced by nginx with the client's own address.
status=$(report -H 'X-Real-IP: 10.9.8.7')
[ "$status" = 429 ] && ok || bad "a forged X-Real-IP escaped the rate limit ($status)"

# Slow headers: nginx closes the connection after client_header_timeout (10 s).
/usr/bin/python3 - "$https" <<'PY' && ok || bad "slow headers were not cut off by nginx"
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
s.settimeout(15)
t0 = time.time()
try:
    data = s.recv(4096)
except (ConnectionError, ssl.SSLError):
    data = b""
elapsed = time.time() - t0
assert 8 < elapsed < 14, elapsed
assert data == b"" or b" 408 " in data, data[:80]
PY

# Hostile framing through nginx (HTTP/1.1 and HTTP/2): compressed and chunked bodies refused by
# nginx before an instance reads them, and never inflated.
printf '{"model":"pima-diabetes"}' | gzip -c > report.gz
for proto in --http1.1 --http2; do
  status=$(c $proto -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
    --data-binary @report.gz "$base/api/v1/metrics")
  [ "$status" = 415 ] && ok || bad "a gzip report ($proto) was answered $status, not 415"
done
status=$(c --http1.1 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
  --data-binary '{}' "$base/api/v1/metrics")
[ "$status" = 411 ] && ok || bad "a chunked report was answered $status, not 411"
# Raw TLS connections: a bare-LF head followed by a flood of header lines; a request whose body
# holds another request after an early error (416); a body-capable request without a length.
# Each request gets exactly one response, the smuggled one none, and the server stays small.
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
rss0=$(rss "${pids[0]}")
/usr/bin/python3 - "$https" <<'PY' && ok || bad "hostile framing through nginx"
import re, socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def exchange(data, flood=b"", wait=5):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.settimeout(wait)
    s.sendall(data)
    try:
        for _ in range(flood and 25600 or 0):  # up to 200 MiB of 8 KB lines, until nginx closes
            s.sendall(flood)
    except (ConnectionError, ssl.SSLError, socket.timeout):
        pass
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (ConnectionError, ssl.SSLError, socket.timeout):
        pass
    return got
def statuses(got):
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", got)]
# Bare LF, then header lines: nginx reads a bare LF as a line end (as HTTP allows a recipient to)
# and passes the request on in clean CR LF form; the flood after it is no request (4xx at most).
got = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\n", b"X-A: " + b"y" * 8000 + b"\r\n")
st = statuses(got)
assert 1 <= len(st) <= 2 and st[0] in (200, 400) and all(s >= 400 for s in st[1:]), (st, got[:200])
# 416 from the server for a malformed Range; the body (another request) is the POST's body, never
# answered; the next pipelined request is answered on its own.
smuggled = b"GET /api/v1/trust HTTP/1.1\r\nHost: x\r\n\r\n"
req = (b"POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nRange: bytes=5-1\r\n"
       b"Content-Length: %d\r\n\r\n" % len(smuggled)) + smuggled
got = exchange(req + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
st = statuses(got)
assert len(st) == 2 and st[0] >= 400 and st[1] == 200, (st, got[:300])
assert b'"keys"' not in got, got[:300]
# A POST without a length, followed by a stream: no request is answered with the stream's content.
got = exchange(b"POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n" + b"{" * 65536)
st = statuses(got)
assert st and st[0] >= 400 and all(s >= 400 for s in st), (st, got[:300])
PY
# Paths that try to leave the web folder, with and without a range, over HTTP/1.1 and HTTP/2.
for proto in --http1.1 --http2; do
  for path in '//etc/passwd' '/..%2f..%2fetc%2fpasswd' '/%2Fetc/passwd'; do
    body=$(c $proto --path-as-is -H 'Range: bytes=0-100' "$base$path")
    grep -q 'root:' <<<"$body" && bad "$path ($proto) served a system file" || ok
  done
done
# Readers that stall on a bundle through nginx: nginx buffers the answer, the server is not held,
# and /healthz is answered at once meanwhile.
sha=$(/usr/bin/python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' \
  "$demo/bundles/pima-diabetes-1.ldxb")
/usr/bin/python3 - "$https" "$sha" <<'PY' && ok || bad "stalled readers through nginx held the server"
import socket, ssl, sys, time
port, sha = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
readers = []
for _ in range(16):
    raw = socket.create_connection(("127.0.0.1", port))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"GET /api/v1/bundles/%s HTTP/1.1\r\nHost: x\r\n\r\n" % sha.encode())
    readers.append(s)
time.sleep(1)
for _ in range(3):
    t0 = time.time()
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    s.settimeout(5)
    got = s.recv(4096)
    assert got.startswith(b"HTTP/1.1 200"), got[:80]
    assert time.time() - t0 < 1.0, time.time() - t0
    time.sleep(0.5)
PY
rss1=$(rss "${pids[0]}")
[ $((rss1 - rss0)) -lt 20480 ] && ok || bad "the server grew by $((rss1 - rss0)) kB under hostile framing through nginx"
c -o /dev/null -w '%{http_code}' "$base/healthz" | grep -q 200 && ok || bad "the server stopped answering"

echo "deploy: $passed passed, $failed failed"
[ "$failed" = 0 ]
