// tiktoken_vectors.mjs: reference ids from tiktoken's "gpt2" encoding (npm tiktoken, the
// wasm build of OpenAI's Rust code), cross-checked with js-tiktoken. Run by
// scripts/make_tokenizer_fixtures.sh; never needed by the test suite itself.
//   node tiktoken_vectors.mjs vectors OUT.jsonl      test strings -> {"text","hex","ids"}
//   node tiktoken_vectors.mjs file FILE [PREFIX]     prints {"bytes","tokens","fnv1a64"}
//   node tiktoken_vectors.mjs unicode                 id hash of every code point, per plane
//   node tiktoken_vectors.mjs bench FILE [REPS]      median MB/s of tiktoken and js-tiktoken
import { get_encoding } from "tiktoken";
import { getEncoding } from "js-tiktoken";
import fs from "node:fs";

const tk = get_encoding("gpt2");
const js = getEncoding("gpt2");

// FNV-1a 64 over the ids as little-endian uint32 (tests/unit/test_tokenizer.c does the same).
function fnv1a64(ids) {
  let h = 0xcbf29ce484222325n;
  const p = 0x100000001b3n, m = (1n << 64n) - 1n;
  for (const id of ids)
    for (let k = 0; k < 4; k++) { h ^= BigInt((id >>> (8 * k)) & 255); h = (h * p) & m; }
  return h.toString(16).padStart(16, "0");
}

function testStrings() {
  const base = [
    "Hello world", "hello world", "Hello, world!", "HELLO WORLD", "The quick brown fox jumps over the lazy dog.",
    "I'm here", "you're", "they've", "she'll", "he'd", "it's", "don't", "can't", "won't",
    "I'M HERE", "IT'S", "DON'T", "THEY'VE", "SHE'LL", "HE'D", "YOU'RE", "We'Re", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
    "'S", "'T", "''s", "'''", "'", "'x", "John's book", "the dogs' bones", "rock 'n' roll", "'tis", "o'clock",
    " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", " \n", "\n ", " \t ", "\t \n",
    "a  b", "a   b", "a    b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a \nb", "a\n b", "a \n b", "a\t b", "a \tb",
    "  leading", "trailing  ", " both ", "\tindented", "line\n", "\nline", "  \n  x", "x  \n  ", "end \n",
    "1", "12", "123", "1234", "12345", "123456789", "3.14159", "1,000,000", "2023-10-01", "10:30pm", "v1.2.3",
    "abc123def", "123abc", " 42", "  42", "x=42;", "0x1F", "1e10", "-5", "+7", "50%", "$100", "#1",
    "!", "!!", "!!!", "?!", "...", "…", "---", "--", "***", "(a)", "[b]", "{c}", "<d>", "a.b.c", "a,b,c",
    "\"quoted\"", "'single'", "«guillemets»", "„low“", "¿Qué?", "¡Hola!", "@user", "#hashtag", "a/b\\c",
    "café", "naïve", "résumé", "Zürich", "São Paulo", "Ærøskøbing", "İstanbul", "Straße", "ÀÉÎÕÜ", "ñandú",
    "日本語", "中文测试", "你好，世界", "こんにちは", "カタカナ", "한국어", "漢字かな交じり文", "東京 2020",
    "😀", "😀😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "I ❤ NY", "★☆", "→←", "∑∫√", "©®™", "♠♣♥♦",
    "e\u0301", "a\u0308o\u0308", "n\u0303", "\u0301", "x\u0300\u0301\u0302", "Z\u0351\u0352",
    "مرحبا بالعالم", "العربية", "שלום עולם", "नमस्ते दुनिया", "हिन्दी", "বাংলা", "தமிழ்", "ไทย", "Ελληνικά", "Русский язык", "Україна",
    "<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "<|endoftext|><|endoftext|>", "<|endoftext", "endoftext|>", "<|im_start|>",
    "a\u00A0b", "\u00A0", "a\u00A0\u00A0b", " \u00A0x", "\u3000", "a\u3000b", "a\u2003b", "\u2028", "a\u2029b", "\u202F", "\u205F", "\u1680",
    "a\u0085b", "\u0085", "x \u0085", "a\u200Bb", "\uFEFFbom", "a\u200Db", "a\u00ADb", "\u000B", "\u000C", "a\u000Bb", "\u001C\u001D",
    "\u0000", "a\u0000b", "\u0001\u0002", "\u007F", "\u0080", "\u009F", "tab\there", "\t\tx",
    "Ⅻ", "½", "²", "٣", "١٢٣", "๔๕", "①②", "𝟘𝟙", "ﬁ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Ａ", "ｶﾀｶﾅ", "ǅ", "ʰ", "々",
    "\u{10FFFF}", "\u{E000}", "\u{1F600}x", "x\u{1F600}", "\u{20000}",
    "     def foo():\n        return 1\n", "int main(void) { return 0; }", "if (a && b) { c++; }", "<html><body>hi</body></html>",
    "https://example.com/path?q=1&r=2", "user@example.com", "C:\\Program Files\\x", "$ ls -la | grep foo",
    "In the beginning God created the heaven and the earth.", "And God said, Let there be light: and there was light.",
    "Call me Ishmael.", "It was the best of times, it was the worst of times,",
    "a", "ab", "abc", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababab", "                                        ",
    "\n\n\n\n\n\n\n\n", "!!!!!!!!!!!!!!!!!!!!", "1111111111111111111111", "zzzzzzzzzzzzzzzzzzzz", "tschüß", "Mississippi",
    "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis", "supercalifragilisticexpialidocious",
  ];
  const out = [];
  const seen = new Set();
  const add = (s) => { if (!seen.has(s)) { seen.add(s); out.push(s); } };
  for (const s of base) add(s);
  // each base string in contexts: after a word, between spaces, before a newline
  for (const s of base.slice(0, 160)) { add("x " + s); add(" " + s + " "); add(s + "\n\n" + s); }
  return out;
}

const mode = process.argv[2];
if (mode === "vectors") {
  const lines = [];
  let disagree = 0;
  for (const s of testStrings()) {
    const ids = Array.from(tk.encode_ordinary(s));
    const jids = js.encode(s, [], []);
    const agree = ids.length === jids.length && ids.every((v, i) => v === jids[i]);
    if (!agree) { disagree++; console.error("js-tiktoken differs on", JSON.stringify(s), ids, jids); }
    const rt = new TextDecoder("utf-8", { ignoreBOM: true }).decode(tk.decode(new Uint32Array(ids)));
    if (rt !== s) throw new Error("tiktoken does not round-trip " + JSON.stringify(s));
    lines.push(JSON.stringify({ text: s, hex: Buffer.from(s, "utf8").toString("hex"), ids, js_tiktoken_agrees: agree }));
  }
  // with allow_special the eot text is the eot id
  for (const s of ["<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "x\n<|endoftext|>\ny", "<|endoftext|><|endoftext|>"]) {
    const ids = Array.from(tk.encode(s, "all"));
    lines.push(JSON.stringify({ text: s, hex: Buffer.from(s, "utf8").toString("hex"), ids, allow_special: true }));
  }
  fs.writeFileSync(process.argv[3], lines.join("\n") + "\n");
  console.error(`${lines.length} vectors, js-tiktoken disagrees on ${disagree}`);
} else if (mode === "file") {
  let buf = fs.readFileSync(process.argv[3]);
  if (process.argv[4]) buf = buf.subarray(0, Number(process.argv[4]));
  const text = buf.toString("utf8");
  const ids = Array.from(tk.encode_ordinary(text));
  let h = 0xcbf29ce484222325n;
  const m = (1n << 64n) - 1n;
  for (const b of buf) { h ^= BigInt(b); h = (h * 0x100000001b3n) & m; }
  console.log(JSON.stringify({ bytes: buf.length, text_fnv1a64: h.toString(16).padStart(16, "0"),
                               tokens: ids.length, ids_fnv1a64: fnv1a64(ids) }));
} else if (mode === "unicode") {
  // every code point in each of the 17 planes, in contexts that show its class (letter,
  // number, space, other): "a" c "1" c "." c " " c "\n"; one id hash per plane
  const out = [];
  for (let plane = 0; plane < 17; plane++) {
    const parts = [];
    for (let cp = plane * 0x10000; cp < (plane + 1) * 0x10000; cp++) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const c = String.fromCodePoint(cp);
      parts.push("a" + c + "1" + c + "." + c + " " + c + "\n");
    }
    const text = parts.join("");
    const ids = Array.from(tk.encode_ordinary(text));
    out.push({ plane, bytes: Buffer.byteLength(text), tokens: ids.length, ids_fnv1a64: fnv1a64(ids) });
  }
  console.log(JSON.stringify(out));
} else if (mode === "bench") {
  const text = fs.readFileSync(process.argv[3], "utf8");
  const mb = Buffer.byteLength(text) / 1e6;
  const reps = Number(process.argv[4] || 3);
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = (f) => {      // median wall seconds and median CPU seconds (user + system)
    const ts = [], cs = [];
    let n = 0;
    for (let r = 0; r < reps; r++) {
      const t = process.hrtime.bigint(), c = process.cpuUsage();
      n = f();
      const dc = process.cpuUsage(c);
      ts.push(Number(process.hrtime.bigint() - t) / 1e9);
      cs.push((dc.user + dc.system) / 1e6);
    }
    return [n, median(ts), median(cs)];
  };
  tk.encode_ordinary(text.slice(0, 100000)); js.encode(text.slice(0, 100000));   // warm up
  const [n1, t1, c1] = time(() => tk.encode_ordinary(text).length);
  const [n2, t2, c2] = time(() => js.encode(text).length);
  console.log(JSON.stringify({ tiktoken: { tokens: n1, seconds: t1, mb_s: mb / t1, cpu_mb_s: mb / c1 },
                               js_tiktoken: { tokens: n2, seconds: t2, mb_s: mb / t2, cpu_mb_s: mb / c2 } }));
} else {
  console.error("usage: node tiktoken_vectors.mjs vectors OUT.jsonl | file FILE [PREFIX] | bench FILE");
  process.exit(2);
}
tk.free();
