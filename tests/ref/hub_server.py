#!/usr/bin/env python3
"""hub_server.py: a loopback stand-in for the Hugging Face hub, for tests/cli/test_download.sh.

Serves ROOT/REPO/FILE at /REPO/resolve/main/FILE (stdlib only: CI's python3 has no extras).
Large files go through a redirect to /cdn/... with X-Linked-Size on the redirect, as the hub
does for LFS files. Supports Range (bytes=S- and S-E) unless --no-range; --cut-after N closes
the connection after N body bytes on the first --cut-times responses for each file; --lie-size
FILE makes X-Linked-Size one byte more than the truth for FILE. Files carry a strong ETag (md5
of the content); a Range with an If-Range that does not match is answered 200 with the whole
file, as RFC 9110 says. Binds port 0 and writes the
port to --port-file; logs "METHOD PATH RANGE STATUS" lines to --log; exits after --lifetime s.
"""
import argparse
import hashlib
import os
import threading
import http.server

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--no-range", action="store_true")
ap.add_argument("--cut-after", type=int, default=0)
ap.add_argument("--cut-times", type=int, default=1)
ap.add_argument("--lie-size", default="")
ap.add_argument("--lifetime", type=float, default=60)
args = ap.parse_args()
cuts = {}
LFS = ("model.safetensors",)


def log(line):
    with open(args.log, "a") as f:
        f.write(line + "\n")


class Hub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_plain(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        rng = self.headers.get("Range", "-")
        parts = self.path.split("/")
        # /REPO/resolve/main/FILE  or  /cdn/REPO/FILE
        if len(parts) == 5 and parts[2] == "resolve" and parts[3] == "main":
            repo, name, cdn = parts[1], parts[4], False
        elif len(parts) == 4 and parts[1] == "cdn":
            repo, name, cdn = parts[2], parts[3], True
        else:
            log("GET %s %s 404" % (self.path, rng))
            return self.send_plain(404, b"Not found\n")
        path = os.path.join(args.root, repo, name)
        if not os.path.isfile(path):
            log("GET %s %s 404" % (self.path, rng))
            return self.send_plain(404, b"Entry not found\n", [("X-Error-Code", "EntryNotFound")])
        size = os.path.getsize(path)
        linked = size + 1 if name == args.lie_size else size
        if name in LFS and not cdn:
            log("GET %s %s 302" % (self.path, rng))
            return self.send_plain(302, b"", [("Location", "/cdn/%s/%s" % (repo, name)),
                                              ("X-Linked-Size", str(linked))])
        with open(path, "rb") as f:
            data = f.read()
        start, end, status = 0, size - 1, 200
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        headers = [("ETag", etag)]
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range != etag:
            rng = rng + "(stale)"
        if name == args.lie_size and name not in LFS:
            headers.append(("X-Linked-Size", str(linked)))
        if rng != "-" and not rng.endswith("(stale)") and not args.no_range:
            spec = rng.split("=", 1)[1]
            s, _, e = spec.partition("-")
            start = int(s)
            end = int(e) if e else size - 1
            if start >= size:
                log("GET %s %s 416" % (self.path, rng))
                return self.send_plain(416, b"", [("Content-Range", "bytes */%d" % size)])
            status = 206
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
        body = data[start:end + 1]
        log("GET %s %s %d" % (self.path, rng, status))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "none" if args.no_range else "bytes")
        self.end_headers()
        n = cuts.get(name, 0)
        if args.cut_after and n < args.cut_times and len(body) > args.cut_after:
            cuts[name] = n + 1
            self.wfile.write(body[:args.cut_after])
            self.wfile.flush()
            self.close_connection = True
            log("CUT %s after %d" % (name, args.cut_after))
            return
        self.wfile.write(body)


srv = http.server.HTTPServer(("127.0.0.1", 0), Hub)
threading.Timer(args.lifetime, lambda: os._exit(0)).start()
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
