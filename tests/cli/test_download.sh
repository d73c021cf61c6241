# test_download.sh: `palimpsest download` against tests/ref/hub_server.py on loopback: a full
# download (through the hub's LFS-style redirect), resume after a cut connection (Range), a
# server without Range support, HTTP 404, and a size mismatch. Every step is time-bounded.
source tests/lib.sh
FIX=tests/fixtures/hub
SRV_PID=""
stop_server() { if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=""; fi; }
trap 'stop_server; rm -rf "$TMP"' EXIT
# start_server NAME ARGS...: serves $FIX, log in $TMP/NAME.log, sets $EP
start_server() {
  local name=$1; shift
  stop_server
  rm -f "$TMP/port"
  : >"$TMP/$name.log"
  timeout 120 python3 tests/ref/hub_server.py --root "$FIX" --port-file "$TMP/port" --log "$TMP/$name.log" \
    --lifetime 100 "$@" &
  SRV_PID=$!
  for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
  EP="http://127.0.0.1:$(cat "$TMP/port" 2>/dev/null)"
}
dl() { timeout 60 $PAL download --quiet --endpoint "$EP" "$@"; }
same_files() {  # same_files DIR: the four files equal the fixture's, byte for byte, and no .partial
  for f in config.json model.safetensors vocab.json merges.txt; do cmp -s "$FIX/gpt2/$f" "$1/$f" || return 1; done
  ! ls "$1"/*.partial >/dev/null 2>&1
}
SIZE=$(stat -c %s "$FIX/gpt2/model.safetensors")

start_server full
check "server started" test -s "$TMP/port"
check "full download" dl gpt2 --out "$TMP/full"
check "files equal the hub's, no .partial left" same_files "$TMP/full"
check "model.safetensors came through the redirect" grep -q "^GET /gpt2/resolve/main/model.safetensors - 302" "$TMP/full.log"
check "download reports the model it checked" bash -c "timeout 60 $PAL download --quiet --endpoint $EP gpt2 --out $TMP/full | grep -q 'n_layer=1 n_head=1 n_embd=4 n_ctx=8 vocab_size=16'"
check_fails "HTTP 404 for a repo the hub lacks" "gpt2-medium/resolve/main/config.json: HTTP 404 \(not found" \
  dl gpt2-medium --out "$TMP/missing"
check "404 leaves no files and no empty directory" test ! -e "$TMP/missing"
check_fails "unknown model name" "unknown model 'gpt3'" $PAL download gpt3
check_fails "two names" "name one model" $PAL download gpt2 gpt2-xl
stop_server

# a connection cut after 1000 bytes: with no retries the run fails and keeps the partial
start_server cut --cut-after 1000
check_fails "cut connection fails, partial kept" "model.safetensors.partial kept: run again to resume" \
  dl gpt2 --out "$TMP/cut" --retries 0
check_eq "partial holds the 1000 bytes received" "1000" "$(stat -c %s "$TMP/cut/model.safetensors.partial" 2>/dev/null)"
check "no final model.safetensors after the cut" test ! -e "$TMP/cut/model.safetensors"
check "run again resumes" dl gpt2 --out "$TMP/cut"
check "resumed with Range bytes=1000- and got 206" grep -q "^GET /cdn/gpt2/model.safetensors bytes=1000- 206" "$TMP/cut.log"
check "resumed files equal the hub's" same_files "$TMP/cut"
# a partial longer than the file: the server answers 416, the partial is dropped, all is fetched
mkdir -p "$TMP/long" && head -c $((SIZE + 10)) /dev/zero >"$TMP/long/model.safetensors.partial"
check "a partial longer than the file starts over" dl gpt2 --out "$TMP/long" --retries 0
check "that got 416 then the whole file" grep -q "bytes=$((SIZE + 10))- 416" "$TMP/cut.log"
check "restarted-after-416 files equal the hub's" same_files "$TMP/long"
# a partial that is already whole (killed before the rename): 416 "bytes */SIZE" completes it
mkdir -p "$TMP/whole" && cp $FIX/gpt2/model.safetensors "$TMP/whole/model.safetensors.partial"
check "a whole partial is completed, not fetched again" dl gpt2 --out "$TMP/whole" --retries 0
check_eq "one request for it, answered 416" "1" "$(grep -c "bytes=$SIZE- 416" "$TMP/cut.log")"
check "whole-partial files equal the hub's" same_files "$TMP/whole"
stop_server

# the file changes upstream between the cut and the resume: If-Range (the saved ETag) makes
# the server send the new file whole, instead of splicing two versions together
mkdir -p "$TMP/hub" && cp -r $FIX/gpt2 "$TMP/hub/"
FIX=$TMP/hub start_server changed --cut-after 1000
check_fails "cut before the upstream change" "kept: run again" dl gpt2 --out "$TMP/changed" --retries 0
check "the partial's ETag is kept beside it" test -s "$TMP/changed/model.safetensors.partial.etag"
printf '\001' | dd of="$TMP/hub/gpt2/model.safetensors" bs=1 seek=$((SIZE - 1)) conv=notrunc status=none
check "resume after the change" dl gpt2 --out "$TMP/changed"
check "the stale If-Range got the whole file (200)" grep -q "^GET /cdn/gpt2/model.safetensors bytes=1000-(stale) 200" "$TMP/changed.log"
check "the result is the new upstream file" cmp -s "$TMP/hub/gpt2/model.safetensors" "$TMP/changed/model.safetensors"
check "no .partial or .etag left" bash -c "! ls $TMP/changed/*.partial* >/dev/null 2>&1"
stop_server

# the same cut, retried within one run
start_server retry --cut-after 700
check "cut then retried in one run" dl gpt2 --out "$TMP/retry"
check "retry resumed from byte 700" grep -q "bytes=700- 206" "$TMP/retry.log"
check "retried files equal the hub's" same_files "$TMP/retry"
stop_server

# a server that ignores Range: the partial is restarted, not appended to
start_server norange --no-range --cut-after 1000
check_fails "cut without range support" "kept: run again" dl gpt2 --out "$TMP/norange" --retries 0
check "resume against a server without ranges" dl gpt2 --out "$TMP/norange"
check "it answered 200 to the Range request" grep -q "^GET /cdn/gpt2/model.safetensors bytes=1000- 200" "$TMP/norange.log"
check_eq "restarted file has the right size" "$SIZE" "$(stat -c %s "$TMP/norange/model.safetensors" 2>/dev/null)"
check "restarted files equal the hub's" same_files "$TMP/norange"
stop_server

# X-Linked-Size disagrees with what is sent: no final file, no partial
start_server lie --lie-size model.safetensors
check_fails "size mismatch is an error" "size mismatch.*X-Linked-Size says $((SIZE + 1))" dl gpt2 --out "$TMP/lie"
check "size mismatch leaves no final file" test ! -e "$TMP/lie/model.safetensors"
check "size mismatch leaves no partial" test ! -e "$TMP/lie/model.safetensors.partial"
stop_server

check_fails "nothing listening: a clean error" "127.0.0.1" timeout 60 $PAL download --quiet --endpoint "$EP" gpt2 --out "$TMP/refused"
done_tests
