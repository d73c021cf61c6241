# test_studio.sh: `palimpsest studio` end to end: the program prints its URL, a warning
# beyond loopback, stops on TERM; the page in Debian's headless chromium (tests/studio/e2e.js,
# screenshots under BUILD/studio/); then every text kept in the browser is written again by
# the CLI from its record, byte for byte.
source tests/lib.sh
SHOTS=${PAL_BUILD:-build}/studio
NODE_PP=cache/studio-node/node_modules/puppeteer-core
bash tests/studio/make_run.sh "$TMP/t" >/dev/null 2>&1
RUN=$TMP/t/run
PALABS=$(realpath "$PAL")
check "a tiny run to serve" test -d "$RUN/checkpoint-12"

check_fails "studio needs a run" "give one run folder" $PAL studio
check_fails "a folder without checkpoints is refused" "no checkpoint-N" $PAL studio "$TMP/t"
check_fails "a host that is no address is refused" "not an IPv4 or IPv6" $PAL studio "$RUN" --host example.org
$PAL studio --help >"$TMP/help" 2>&1
check "help names the token and the queue" grep -q "token" "$TMP/help"

# beyond loopback: a warning (0.0.0.0 listens everywhere)
$PAL studio "$RUN" --host 0.0.0.0 >"$TMP/pub.url" 2>"$TMP/pub.err" &
pid=$!
for _ in $(seq 50); do [ -s "$TMP/pub.url" ] && break; sleep 0.1; done
check "a public host warns" grep -q "warning: the studio listens on 0.0.0.0" "$TMP/pub.err"
kill -TERM $pid; wait $pid; rc=$?
check_eq "TERM stops it cleanly" 0 "$rc"

$PAL studio "$RUN" --threads 1 >"$TMP/url" 2>"$TMP/err" &
pid=$!
for _ in $(seq 100); do [ -s "$TMP/url" ] && break; sleep 0.1; done
URL=$(head -1 "$TMP/url")
$PAL studio "$TMP/t/slow" --threads 1 >"$TMP/slow.url" 2>"$TMP/slow.err" &
spid=$!
for _ in $(seq 100); do [ -s "$TMP/slow.url" ] && break; sleep 0.1; done
check "the URL is on 127.0.0.1 with a token" bash -c "[[ '$URL' =~ ^http://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f]{48}$ ]]"

if [ ! -d "$NODE_PP" ] || ! command -v chromium >/dev/null; then
  not_ok "puppeteer-core (cache/studio-node) or chromium is missing: scripts/setup.sh installs both"
else
  DEGEN=$(grep -c '"degenerate":true' "$RUN/sweep.jsonl")
  SWEEP_DEGENERATE=$DEGEN timeout 300 node tests/studio/e2e.js "$URL" "$SHOTS" "$(head -1 "$TMP/slow.url")" 2>"$TMP/e2e.err"
  [ -s "$TMP/e2e.err" ] && sed 's/^/    /' "$TMP/e2e.err" | head -20
fi
kill -TERM $pid; wait $pid
check_eq "the studio stops on TERM" 0 "$?"
kill -TERM $spid; wait $spid
check_eq "so does the second one" 0 "$?"

# every kept text, written again by the CLI from its record (inside RUN)
check "the browser kept texts in RUN/studio/kept.jsonl" test -s "$RUN/studio/kept.jsonl"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s' "$line" | node -e '
    let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
      const r = JSON.parse(s);
      process.stdout.write(r.argv.slice(1).map((a) => Buffer.from(a).toString("base64")).join("\n"));
      require("fs").writeFileSync(process.argv[1], r.text + "\n");
    });' "$TMP/want.$n" > "$TMP/argv.$n"
  args=()
  while IFS= read -r a; do args+=("$(printf '%s' "$a" | base64 -d)"); done < "$TMP/argv.$n"
  ( cd "$RUN" && "$PALABS" "${args[@]}" ) > "$TMP/got.$n" 2>"$TMP/got.$n.err"
  kind=$(printf '%s' "$line" | grep -o '"kind":"[a-z]*"' | head -1)
  check "kept text $n ($kind) is written again by the CLI byte for byte" cmp -s "$TMP/want.$n" "$TMP/got.$n"
done < "$RUN/studio/kept.jsonl"
check "two kept texts (a sample, a weave)" test "$n" -eq 2
for v in run sample compare weave sweep kept; do check "screenshot of the $v view" test -s "$SHOTS/$v.png"; done
done_tests
