#!/usr/bin/env bash
# tests/support/nginx-site.sh — deploy/nginx/localdx.conf made runnable from a folder, for the
# deployment test, the scale-out test and scripts/bench-store: a self-signed certificate, the
# given ports and upstream instances, temp paths inside the folder, and (with --shared-address)
# the per-address report rate and connection cap raised, since there every client is 127.0.0.1.
#
#   nginx-site.sh SOURCE_DIR DIR HTTPS_PORT HTTP_PORT [--shared-address] UPSTREAM_PORT...
#
# Writes DIR/nginx.conf (+ site.conf, cert.pem, key.pem); then:
#   nginx -p DIR -c DIR/nginx.conf -g "daemon off; pid DIR/nginx.pid; user root;"   (as root)
set -euo pipefail
src=$1 dir=$2 https=$3 http=$4
shift 4
shared=0
if [ "${1:-}" = --shared-address ]; then shared=1; shift; fi
mkdir -p "$dir/logs" "$dir/tmp"
[ -f "$dir/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" \
  -days 2 -subj /CN=localhost >/dev/null 2>&1
upstreams=""
for p in "$@"; do upstreams+="    server 127.0.0.1:$p max_fails=3 fail_timeout=5s;\\n"; done
sed -e "s|/etc/ssl/localdx/fullchain.pem|$dir/cert.pem|; s|/etc/ssl/localdx/privkey.pem|$dir/key.pem|" \
    -e "s|^    server 127.0.0.1:8081 max_fails=3 fail_timeout=5s;|${upstreams%\\n}|" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:$https ssl http2;|; s|listen 80;|listen 127.0.0.1:$http;|; /listen \[::\]/d" \
    "$src/deploy/nginx/localdx.conf" > "$dir/site.conf"
if [ $shared = 1 ]; then
  sed -i -e 's|rate=1r/s|rate=100000r/s|; s|burst=60 nodelay|burst=100000 nodelay|; s|limit_conn localdx_conn 64;|limit_conn localdx_conn 1000;|' "$dir/site.conf"
fi
cat > "$dir/nginx.conf" <<CONF
worker_processes 2;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/site.conf;
}
CONF
