"""Write the text tokenizer test fixtures in tests/fixtures/tokenizers/.

The Rust text encoders must produce the same token ids as the Python reference
tokenizers. This script writes:

- corpus.json: the test strings (remote-sensing prompts and Unicode,
  punctuation, whitespace, HTML, mojibake and length edge cases).
- clip_bpe.json: ids from the open_clip CLIP BPE tokenizer
  (`open_clip.tokenizer.SimpleTokenizer`, as used by FarSLIP) at context
  length 248, with the cleaned text of each string, the steps that clean it
  and the location and sha256 of the BPE merges file.
- t5like_unigram.model and t5like_unigram_byte_fallback.model: two small
  SentencePiece unigram models trained here with T5-style special ids
  (pad 0, eos 1, unk 2, no bos). They stand in for SigLIP's 32k `spiece.model`,
  which cannot be downloaded in this environment.
- sentencepiece_ids.json: ids for every corpus string from each model through
  raw `SentencePieceProcessor.encode`, `transformers.SiglipTokenizer` and the
  open_clip `HFTokenizer` path that EarthEmbeddingExplorer uses for SigLIP.

Rerun from the repository root (HF_HUB_OFFLINE=1 because nothing here needs
a model hub):

    pip install open-clip-torch==3.3.0 sentencepiece==0.2.3 transformers==5.25.0 protobuf
    HF_HUB_OFFLINE=1 python3 dev/make_tokenizer_fixtures.py

Written with Python 3.11.7, open-clip-torch 3.3.0, ftfy 6.3.1, regex 2026.5.9,
sentencepiece 0.2.3, transformers 5.25.0, tokenizers 0.23.3, protobuf 7.36.2
and torch 2.15.0. The json files record the versions that wrote them. The
CLIP ids depend on the BPE merges file, open_clip's cleaning code and ftfy, so
a new ftfy release can change the ids of the strings it fixes. The SentencePiece
models come from a fixed corpus with one training thread, but a different
sentencepiece version may train different pieces, and then all SentencePiece
ids change together. The script overwrites its own files and deletes nothing
else in the folder.
"""

import hashlib
import importlib.metadata
import io
import json
import os
import random
import sys
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import ftfy
import open_clip
import sentencepiece as spm
from open_clip import tokenizer as open_clip_tokenizer
from transformers import SiglipTokenizer, T5Tokenizer

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tokenizers"

# FarSLIP's vendored open_clip (models/FarSLIP/open_clip/model.py in
# EarthEmbeddingExplorer) sets the text context length to 248 instead of 77 when
# long_clip is enabled, and the tokenizer is called with that length.
CLIP_CONTEXT_LENGTH = 248
# SigLIP so400m/14@384 text tower length (open_clip model config
# ViT-SO400M-14-SigLIP-384, `text_cfg.context_length`).
SIGLIP_MAX_LENGTH = 64
TRAINING_SEED = 20240611
SIZE_LIMIT_BYTES = 2 * 1024 * 1024

# Fixed SentencePiece trainer settings with T5's special ids (pad 0, eos 1,
# unk 2, no bos). open_clip 3.3.0 gives SigLIP T5's c4-en 32000-piece model
# (cc_en.32000/sentencepiece.model).
# NOTE: that model's normalization rule, coverage and dummy-prefix setting were
# not checked here. These are the sentencepiece defaults.
SPM_COMMON = {
    "model_type": "unigram",
    "pad_id": 0,
    "eos_id": 1,
    "unk_id": 2,
    "bos_id": -1,
    "pad_piece": "<pad>",
    "eos_piece": "</s>",
    "unk_piece": "<unk>",
    "normalization_rule_name": "nmt_nfkc",
    "add_dummy_prefix": True,
    "remove_extra_whitespaces": True,
    "character_coverage": 0.9995,
    "num_threads": 1,
    "minloglevel": 2,
}
SPM_MODELS = {
    "t5like_unigram": {"vocab_size": 800, "byte_fallback": False},
    "t5like_unigram_byte_fallback": {"vocab_size": 1000, "byte_fallback": True},
}

REMOTE_SENSING_PROMPTS = [
    "a satellite image of a tropical rainforest",
    "center-pivot irrigation in Kansas",
    "an aerial photo of a container port",
    "a satellite image of a dense urban area",
    "snow-covered mountains in the Alps",
    "a river delta with many channels",
    "rice paddies in Southeast Asia",
    "an airport with two runways",
    "a solar farm in the desert",
    "wind turbines on farmland",
    "a large open-pit mine",
    "mangrove forest along a coastline",
    "a glacier flowing into a fjord",
    "sand dunes in the Sahara",
    "a suburban neighborhood with swimming pools",
    "vineyards on rolling hills",
    "an oil refinery next to the sea",
    "burned forest after a wildfire",
    "flooded fields after heavy rain",
    "a reservoir behind a concrete dam",
    "greenhouses in Almería",
    "salt evaporation ponds",
    "a braided river in a glacial valley",
    "coral reefs in shallow turquoise water",
    "a highway interchange",
    "terraced fields on a steep slope",
    "clear-cut logging in a boreal forest",
    "a volcano with a crater lake",
    "palm oil plantations in Borneo",
    "a coastal city at the mouth of a river",
    "circular fields of crops",
    "an island surrounded by a lagoon",
    "a harbor full of ships",
    "a golf course next to houses",
    "a landfill site",
    "an industrial area with warehouses",
    "sparse vegetation in a semi-arid region",
    "a frozen lake in winter",
    "tea plantations in the highlands",
    "a river meandering through a floodplain",
    "a sentinel-2 true colour image of farmland",
    "Sentinel-2 L2A RGB composite of the Nile Delta",
    "cloud-free image of the Amazon basin",
    "deforestation along a new road",
    "shrimp farms on the coast",
    "a dry lake bed",
    "a ski resort in the mountains",
    "a football stadium in a city",
    "railway tracks crossing fields",
    "an archipelago of small islands",
    "a bridge over a wide river",
    "permafrost thaw lakes in the tundra",
    "a quarry in limestone hills",
    "irrigated orchards in a valley",
    "sea ice breaking up in spring",
    "a village surrounded by forest",
    "pastures with scattered trees",
    "an estuary at low tide",
    "a wetland with small ponds",
    "a city grid seen from above",
]

PROMPT_SUBJECTS = [
    "cropland", "a pine forest", "a desert", "an urban area", "a coastline",
    "a lake", "grassland", "a river", "a mountain range", "an airport",
    "a port", "a wetland", "farmland", "a glacier", "an island",
]
PROMPT_PLACES = [
    "Kansas", "Brazil", "Norway", "Kenya", "Bangladesh", "Australia",
    "Canada", "Spain", "Mongolia", "Peru", "Iceland", "Vietnam",
]
PROMPT_TEMPLATES = [
    "a satellite image of {subject} in {place}",
    "an aerial view of {subject} near {place}",
    "A Sentinel-2 image showing {subject}, {place}",
    "{subject} in {place} seen from space",
]

PUNCTUATION = [
    "hello, world!",
    "what is this?!",
    "farmland... or desert???",
    "(a) river; (b) lake: (c) sea",
    "tiles #1-#20 @ 10m/px",
    "100% cloud-free!!!",
    "roads/railways & bridges",
    "a--b---c",
    "\"quoted\" 'single' `backtick`",
    "under_score and snake_case_name",
    "e-mail: user@example.com",
    "https://example.com/tiles?x=1&y=2",
    "C:\\data\\tiles\\img_01.tif",
    "[brackets] {braces} <angles>",
    "$5.00 + 3 * 2 = 11 ^ 2 ~ 121",
    "!!!",
    "...",
    ".,;:!?",
    "a|b|c",
    "semi;colon;separated;values",
    "¡Hola! ¿Qué tal?",
    "« guillemets » and „Anführungszeichen“",
    "em—dash and en–dash",
    "a · b • c",
]

NUMBERS = [
    "2024",
    "3.14159",
    "1,000,000 hectares",
    "10m resolution",
    "Sentinel-2 band B08 (842 nm)",
    "-33.8688, 151.2093",
    "40°26′46″N 79°58′56″W",
    "1e-5",
    "0x1F",
    "12:30 UTC on 2023-07-14",
    "elevation 8848 m",
    "tile 337U_1155R",
    "½ ¼ ¾",
    "x² + y³",
    "Ⅻ Roman numeral twelve",
    "١٢٣ Arabic-Indic digits",
    "٣٫٥ km",
    "007",
]

MIXED_CASE = [
    "A Satellite Image Of A Forest",
    "A SATELLITE IMAGE OF A FOREST",
    "a sAtElLiTe ImAgE",
    "NASA Landsat-8 OLI",
    "McDonald's drive-through",
    "iPhone GPS coordinates",
    "ESA's Copernicus Programme",
    "ÉCOLE DES PONTS",
    "İstanbul and ISTANBUL",
    "STRASSE and Straße",
    "ΣΟΦΙΑ and Σοφία",
]

CONTRACTIONS = [
    "it's a river",
    "don't show clouds",
    "they're farms",
    "we've seen this",
    "I'm looking for lakes",
    "you'll find it",
    "he'd know",
    "Earth's surface",
    "IT'S A RIVER",
    "DON'T",
    "the river’s delta",
    "rock 'n' roll",
    "'s 't 're 've 'm 'll 'd",
    "o'clock",
    "can't won't shouldn't",
]

EMOJI = [
    "🌍",
    "satellite 🛰️ view",
    "forest 🌲🌲🌲",
    "🔥 wildfire",
    "flag 🇧🇷 Brazil",
    "family 👨‍👩‍👧‍👦",
    "thumbs up 👍🏽",
    "🌊🏖️☀️",
    "❤️ the ocean",
    "keycap 1️⃣",
]

ACCENTS = [
    "café",
    "São Paulo",
    "Zürich",
    "Besançon",
    "Kraków",
    "Reykjavík",
    "Ålesund",
    "Łódź",
    "Curaçao",
    "Ciudad de México",
    "naïve façade",
    "Dvůr Králové",
    "Ærøskøbing",
    "crème brûlée",
]

CJK = [
    "衛星画像",
    "森林の衛星写真",
    "北京的卫星图像",
    "长江三角洲",
    "서울의 위성 사진",
    "東京 Tokyo",
    "カタカナ テスト",
    "中文，標點。",
]

RIGHT_TO_LEFT = [
    "صورة القمر الصناعي",
    "القاهرة",
    "نهر النيل 2024",
    "תמונת לוויין",
    "فارسی: تهران",
]

CYRILLIC_GREEK = [
    "спутниковый снимок леса",
    "Москва",
    "озеро Байкал",
    "Київ",
    "ПРИВЕТ мир",
    "δορυφορική εικόνα",
    "Αθήνα",
    "ΟΔΟΣ",
]

COMBINING = [
    "cafe\u0301",
    "Zu\u0308rich",
    "Sa\u0303o Paulo",
    "q\u0303",
    "a\u0301\u0301\u0301",
    "n\u0303o",
    "\u0301 lone combining mark",
    "Ha\u0308agen-Dazs",
    "देवनागरी",
    "ภาพถ่ายดาวเทียม",
]

HTML_ENTITIES = [
    "rivers &amp; lakes",
    "a &lt; b &gt; c",
    "&quot;quoted&quot;",
    "caf&eacute;",
    "&#233;t&#233;",
    "&#x1F30D; globe",
    "&amp;amp; double escaped",
    "&amp;lt;tag&amp;gt;",
    "<b>bold</b> &amp; co",
    "fish &amp chips",
    "&nbsp;non-breaking",
    "AT&T and R&D",
]

MOJIBAKE = [
    "cafÃ©",
    "SÃ£o Paulo",
    "ZÃ¼rich",
    "naÃ¯ve",
    "â€œcurly quotesâ€\x9d",
    "donâ€™t",
    "Ã\xa0 la carte",
    "crÃ¨me brÃ»lÃ©e",
    "Ã¢â‚¬Å“double mojibakeÃ¢â‚¬Â\x9d",
    "ÐœÐ¾ÑÐºÐ²Ð°",
    "æ—¥æœ¬",
]

WHITESPACE = [
    "",
    " ",
    "     ",
    "\t",
    "\n",
    "\r\n",
    "  leading spaces",
    "trailing spaces   ",
    "many     inner     spaces",
    "tab\tseparated\tvalues",
    "line one\nline two",
    "windows\r\nline break",
    "non\u00a0breaking\u00a0space",
    "ideographic\u3000space",
    "thin\u2009space and em\u2003space",
    "zero\u200bwidth\u200bspace",
    "line\u2028separator",
    "\ufeffbyte order mark",
    " \t\n mixed \t\n ",
]

OTHER_UNICODE = [
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ ２０２４",
    "ﬁeld ﬂow ligatures",
    "“curly” ‘quotes’",
    "soft\u00adhyphen",
    "control\x07bell and\x1b[31mred\x1b[0m",
    "null\x00byte",
    "𝐁𝐨𝐥𝐝 𝐦𝐚𝐭𝐡",
    "Ⓐⓑⓒ circled",
    "™ ® © ℃ №",
    "µm and μm",
    "Å (angstrom sign) and Å",
    "ǅ titlecase digraph",
    "ŉ apostrophe n",
    "ı dotless i",
]

SPECIAL_TOKEN_TEXT = [
    "<start_of_text>",
    "<end_of_text>",
    "a <start_of_text> b <end_of_text> c",
    "</s>",
    "<unk>",
    "<pad>",
    "end</s>start",
    "▁metaspace▁character",
]

LONG_PARAGRAPH = (
    "This Sentinel-2 scene shows a wide agricultural plain crossed by a slow river. "
    "Rectangular fields of wheat, maize and sunflower alternate with circular "
    "center-pivot plots, while small villages sit along the roads. To the north, "
    "low hills are covered with mixed deciduous forest; to the south, a reservoir "
    "feeds a network of irrigation canals. Clouds cover about 5% of the tile."
)


def make_long_strings():
    """Build strings that cross the 64-token and 248-token limits."""
    return [
        LONG_PARAGRAPH,
        " ".join([LONG_PARAGRAPH] * 4),
        " ".join(REMOTE_SENSING_PROMPTS[:30]),
        "forest " * 300,
        "🌍" * 100,
        "supercalifragilisticexpialidocious " * 20,
        "a" * 500,
    ]


def make_boundary_strings(encode_clip):
    """Build CLIP strings of 245-248 content tokens, around the 246-token limit.

    246 content tokens plus SOT and EOT fill 248 positions exactly, so one more
    token makes open_clip truncate and overwrite the last position with EOT.
    """
    strings = []
    for count in (245, 246, 247, 248):
        text = " ".join(["forest"] * count)
        if len(encode_clip(text)) != count:
            raise SystemExit(f"'forest' is not one CLIP token, so the {count}-token boundary string is wrong")
        strings.append(text)
    return strings


def make_siglip_boundary_strings():
    """Build strings of 62-65 words, around SigLIP's 63 content tokens plus EOS."""
    return [" ".join(["a"] * count) for count in (62, 63, 64, 65)]


def make_template_prompts():
    rng = random.Random(TRAINING_SEED)
    prompts = []
    for _ in range(60):
        template = rng.choice(PROMPT_TEMPLATES)
        prompts.append(template.format(subject=rng.choice(PROMPT_SUBJECTS), place=rng.choice(PROMPT_PLACES)))
    return prompts


def build_corpus(encode_clip):
    """Return the corpus as a list of {"category", "text"} records with unique texts."""
    sections = [
        ("remote_sensing", REMOTE_SENSING_PROMPTS),
        ("remote_sensing_template", make_template_prompts()),
        ("punctuation", PUNCTUATION),
        ("numbers", NUMBERS),
        ("mixed_case", MIXED_CASE),
        ("contractions", CONTRACTIONS),
        ("emoji", EMOJI),
        ("accents", ACCENTS),
        ("cjk", CJK),
        ("right_to_left", RIGHT_TO_LEFT),
        ("cyrillic_greek", CYRILLIC_GREEK),
        ("combining", COMBINING),
        ("html_entities", HTML_ENTITIES),
        ("mojibake", MOJIBAKE),
        ("whitespace", WHITESPACE),
        ("other_unicode", OTHER_UNICODE),
        ("special_token_text", SPECIAL_TOKEN_TEXT),
        ("long", make_long_strings()),
        ("clip_length_boundary", make_boundary_strings(encode_clip)),
        ("siglip_length_boundary", make_siglip_boundary_strings()),
    ]
    corpus = []
    seen = set()
    for category, texts in sections:
        for text in texts:
            if text in seen:
                continue
            seen.add(text)
            corpus.append({"category": category, "text": text})
    return corpus


def make_training_sentences(corpus):
    """Return SentencePiece training lines: the corpus plus generated English.

    The generated sentences give the unigram trainer enough distinct words to
    reach the requested vocabulary sizes.
    """
    rng = random.Random(TRAINING_SEED)
    adjectives = [
        "dense", "sparse", "green", "brown", "dry", "wet", "frozen", "flooded", "irrigated",
        "bare", "rocky", "sandy", "hilly", "flat", "coastal", "remote", "industrial", "rural",
        "urban", "tropical", "temperate", "arid", "northern", "southern", "eastern", "western",
    ]
    nouns = [
        "forest", "field", "river", "lake", "city", "village", "road", "highway", "railway",
        "airport", "harbor", "port", "mountain", "valley", "glacier", "desert", "dune", "beach",
        "island", "reservoir", "dam", "mine", "quarry", "farm", "orchard", "vineyard", "wetland",
        "marsh", "delta", "estuary", "plateau", "canyon", "volcano", "crater", "coast", "bay",
        "cropland", "grassland", "savanna", "tundra", "plantation", "greenhouse", "stadium",
    ]
    verbs = [
        "shows", "contains", "surrounds", "borders", "crosses", "covers", "follows", "meets",
        "replaces", "drains", "feeds", "divides", "joins", "reaches",
    ]
    places = [
        "Kansas", "Nebraska", "Texas", "Alberta", "Patagonia", "Siberia", "Bavaria", "Provence",
        "Andalusia", "Tuscany", "Anatolia", "Punjab", "Bengal", "Yunnan", "Hokkaido", "Java",
        "Sumatra", "Queensland", "Tasmania", "Greenland", "Iceland", "Namibia", "Ethiopia",
        "Madagascar", "Amazonas", "Chile", "Mexico", "Ontario", "Quebec", "Alaska",
    ]
    lines = []
    for record in corpus:
        lines.extend(line for line in record["text"].splitlines() if line.strip())
    for _ in range(4000):
        sentence = (
            f"The {rng.choice(adjectives)} {rng.choice(nouns)} {rng.choice(verbs)} "
            f"a {rng.choice(adjectives)} {rng.choice(nouns)} near {rng.choice(places)}."
        )
        if rng.random() < 0.3:
            sentence = sentence.lower()
        if rng.random() < 0.2:
            sentence += f" It covers {rng.randint(1, 9999)} hectares."
        lines.append(sentence)
    return lines


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def package_versions():
    names = [
        "open_clip_torch", "ftfy", "regex", "sentencepiece", "transformers", "tokenizers",
        "protobuf", "torch",
    ]
    versions = {"python": sys.version.split()[0]}
    for name in names:
        versions[name] = importlib.metadata.version(name)
    return versions


def clip_vocab_record():
    """Describe the BPE merges file that open_clip ships, without copying it."""
    path = Path(open_clip_tokenizer.default_bpe())
    site_packages = Path(open_clip.__file__).resolve().parent.parent
    return {
        "file_name": path.name,
        "path_in_site_packages": path.resolve().relative_to(site_packages).as_posix(),
        "pypi_package": "open-clip-torch",
        "size_bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "format": (
            "gzip text; line 0 is a version header; lines 1..48894 are the merges used "
            "(open_clip reads merges[1:49152-256-2+1])"
        ),
    }


def clip_cleaning_record(clip):
    """Describe the default SimpleTokenizer cleaning, checked against the installed source."""
    if clip.clean_fn is not open_clip_tokenizer._clean_lower:
        raise SystemExit("SimpleTokenizer() no longer defaults to clean='lower', so the recorded steps are stale")
    return {
        "clean_mode": "lower",
        "steps": [
            "ftfy.fix_text(text) with ftfy's default TextFixerConfig (see ftfy_config)",
            "html.unescape(html.unescape(text))",
            "text.strip()",
            "' '.join(text.split()): Python str.split() with no argument splits on Unicode whitespace runs",
            "text.strip()",
            "text.lower(): Python Unicode lowercasing",
        ],
        "ftfy_config": ftfy.TextFixerConfig(explain=False)._asdict(),
        "ftfy_notes": (
            "fix_text works line by line (segments end after each '\\n'); with unescape_html='auto' "
            "a segment that contains '<' is not HTML-unescaped by ftfy"
        ),
        "pre_tokenizer_regex": clip.pat.pattern,
        "pre_tokenizer_regex_flags": "regex.IGNORECASE (third-party `regex` module, not `re`)",
        "bpe": (
            "each regex match is UTF-8 encoded, each byte mapped through bytes_to_unicode(), "
            "'</w>' appended to the last symbol, and merges applied by lowest rank"
        ),
        "special_tokens_in_text": (
            "the regex matches '<start_of_text>' and '<end_of_text>' literally, so such text in a "
            "query becomes the special ids"
        ),
        "row": (
            "[SOT] + ids + [EOT]; if longer than the context length, cut to the context length and "
            "set the last position to EOT; pad with 0 (id 0 is also the token '!')"
        ),
    }


def make_clip_entries(corpus, clip):
    rows = open_clip.tokenize([record["text"] for record in corpus], context_length=CLIP_CONTEXT_LENGTH)
    entries = []
    for index, record in enumerate(corpus):
        text = record["text"]
        encoded = clip.encode(text)
        ids = [clip.sot_token_id] + encoded + [clip.eot_token_id]
        truncated = len(ids) > CLIP_CONTEXT_LENGTH
        if truncated:
            ids = ids[:CLIP_CONTEXT_LENGTH]
            ids[-1] = clip.eot_token_id
        row = rows[index].tolist()
        expected_row = ids + [0] * (CLIP_CONTEXT_LENGTH - len(ids))
        if row != expected_row:
            raise SystemExit(f"open_clip.tokenize row differs from SimpleTokenizer.encode for corpus[{index}]")
        entries.append({
            "index": index,
            "text": text,
            "cleaned": clip.clean_fn(text),
            "ftfy_changed": ftfy.fix_text(text) != text,
            "bpe_ids": encoded,
            "ids": ids,
            "truncated": truncated,
        })
    return entries, rows


def add_padded_rows(entries, rows):
    """Add the whole 248-id row to a few entries: short, empty, with '!', and truncated."""
    row_texts = [
        "a satellite image of a tropical rainforest",
        "",
        "hello, world!",
        "!!!",
        LONG_PARAGRAPH,
        " ".join(["forest"] * 246),
        " ".join(["forest"] * 247),
        "forest " * 300,
    ]
    texts = [entry["text"] for entry in entries]
    for text in row_texts:
        index = texts.index(text)
        entries[index]["padded_row"] = rows[index].tolist()


def train_sentencepiece_models(lines):
    """Train the small T5-style models and write them to OUT_DIR."""
    records = {}
    for name, options in SPM_MODELS.items():
        buffer = io.BytesIO()
        settings = dict(SPM_COMMON, **options)
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buffer, **settings)
        path = OUT_DIR / f"{name}.model"
        path.write_bytes(buffer.getvalue())
        processor = spm.SentencePieceProcessor(model_file=str(path))
        special = {"pad": processor.pad_id(), "eos": processor.eos_id(), "unk": processor.unk_id(), "bos": processor.bos_id()}
        if special != {"pad": 0, "eos": 1, "unk": 2, "bos": -1}:
            raise SystemExit(f"{path.name}: special ids are {special}, expected pad 0, eos 1, unk 2 and no bos")
        records[name] = {
            "file": path.name,
            "sha256": sha256_file(path),
            "size_bytes": path.stat().st_size,
            "vocab_size": processor.get_piece_size(),
            "trainer_options": settings,
            "training_lines": len(lines),
        }
    return records


def make_open_clip_t5_tokenizer(model_path):
    """Build a fast T5 tokenizer the way open_clip's SigLipTokenizer does.

    open_clip 3.3.0 builds SigLIP tokenizers as T5TokenizerFast(vocab, extra_ids=0,
    legacy=False) and then sets pad and eos to id 1. The transformers 5.25.0
    T5Tokenizer constructor takes a piece list, not a .model path, so this loads
    it from a folder that contains spiece.model.
    """
    with tempfile.TemporaryDirectory(prefix="t5_spiece_") as folder:
        Path(folder, "spiece.model").write_bytes(Path(model_path).read_bytes())
        t5 = T5Tokenizer.from_pretrained(folder, extra_ids=0, legacy=False)
    t5.pad_token_id = 1
    t5.eos_token_id = 1
    return t5


def siglip_tokenizer_notes(siglip):
    return {
        "class": "transformers.SiglipTokenizer (slow, SentencePiece backend)",
        "constructor": "SiglipTokenizer(vocab_file=MODEL)",
        "call": f"tokenizer(text, padding='max_length', max_length={SIGLIP_MAX_LENGTH}, truncation=True)",
        "legacy": getattr(siglip, "legacy", None),
        "do_lower_case": siglip.do_lower_case,
        "pad_token_id": siglip.pad_token_id,
        "eos_token_id": siglip.eos_token_id,
        "unk_token_id": siglip.unk_token_id,
        "steps": [
            "text = '▁' + text.replace('▁', ' ')",
            "split the text on the added tokens '</s>' and '<unk>', which become ids 1 and 2, and strip "
            "the whitespace next to them (AddedToken lstrip and rstrip)",
            "canonicalize_text on each piece: lowercase (do_lower_case), delete ASCII string.punctuation "
            "characters, re.sub(r'\\s+', ' '), strip()",
            "sp_model.encode('<unk>' + piece, out_type=str) with the model's own normalizer and dummy "
            "prefix (legacy=True keeps add_dummy_prefix), then drop the first len(encode('<unk>')) pieces",
            "pieces to ids with piece_to_id; append EOS id 1 unless the ids already end with 1",
            f"truncate to {SIGLIP_MAX_LENGTH} (the EOS is kept as the last id), pad with pad id 1 on the right",
        ],
        "differences_from_sp_encode": (
            "apart from canonicalization and special-token text, the '<unk>' prefix can change how "
            "sentencepiece breaks ties between equal-score segmentations of repeated characters "
            "(see the '🌍' * 100 and 'a' * 500 strings)"
        ),
    }


def open_clip_hf_notes():
    return {
        "path": (
            "EarthEmbeddingExplorer models/siglip_model.py builds open_clip.tokenizer.HFTokenizer(folder) "
            "on the timm/ViT-SO400M-14-SigLIP-384 snapshot, which leaves clean='whitespace', and calls "
            f"it with context_length={SIGLIP_MAX_LENGTH}"
        ),
        "cleaning": [
            "ftfy.fix_text(text)",
            "html.unescape(html.unescape(text))",
            "strip()",
            "' '.join(text.split()), strip(); no lowercasing and no punctuation removal",
        ],
        "tokenizer": (
            "transformers 5.25.0 T5Tokenizer (tokenizers backend) built from the .model with extra_ids=0, "
            "legacy=False, pad and eos id 1, as open_clip's SigLipTokenizer builds it"
        ),
        "call": f"tokenizer(texts, max_length={SIGLIP_MAX_LENGTH}, padding='max_length', truncation=True)",
        "models": "only models without byte fallback, because this T5Tokenizer ignores byte_fallback",
        "differences_from_sentencepiece": (
            "the tokenizers Unigram model turns '</s>', '<unk>' and '<pad>' in the text into ids 1, 2 "
            "and 0, and it can break equal-score ties differently (see the 'a' * 500 string)"
        ),
        # NOTE: the timm snapshot's tokenizer.json was not readable here, so this
        # field assumes it is the T5-style export that open_clip's SigLipTokenizer
        # writes. If the snapshot names SiglipTokenizer instead, the siglip_hf ids apply.
        "assumption": (
            "the timm snapshot's tokenizer files were not available here; these ids assume they are the "
            "T5-style tokenizer that open_clip's SigLipTokenizer exports"
        ),
    }


def make_sentencepiece_entries(corpus, models):
    processors = {}
    siglips = {}
    t5s = {}
    for name, record in models.items():
        path = OUT_DIR / record["file"]
        processors[name] = spm.SentencePieceProcessor(model_file=str(path))
        siglips[name] = SiglipTokenizer(vocab_file=str(path))
        # transformers 5.25.0 T5Tokenizer always builds Unigram(byte_fallback=False),
        # so its ids for a byte-fallback model would not show what the model does.
        if not record["trainer_options"]["byte_fallback"]:
            t5s[name] = make_open_clip_t5_tokenizer(path)
            # The tokenizers-library file a Rust `tokenizers::Tokenizer` loads; padding and
            # truncation are set at call time, not stored.
            t5s[name].backend_tokenizer.save(str(OUT_DIR / f"{name}.tokenizer.json"))

    clean_whitespace = open_clip_tokenizer._clean_whitespace
    any_siglip = next(iter(siglips.values()))
    entries = []
    for index, record in enumerate(corpus):
        text = record["text"]
        open_clip_text = clean_whitespace(text)
        entry = {
            "index": index,
            "text": text,
            "siglip_canonicalized": any_siglip.canonicalize_text(text),
            "open_clip_cleaned": open_clip_text,
        }
        for name in models:
            siglip_ids = siglips[name](
                text, padding="max_length", max_length=SIGLIP_MAX_LENGTH, truncation=True
            )["input_ids"]
            entry[name] = {"sp_encode": processors[name].encode(text), "siglip_hf": siglip_ids}
            if name in t5s:
                entry[name]["open_clip_hf_t5"] = t5s[name](
                    [open_clip_text], padding="max_length", max_length=SIGLIP_MAX_LENGTH, truncation=True
                )["input_ids"][0]
        entries.append(entry)
    return entries, siglips


def write_json(path, header, entries_key=None, entries=None):
    """Write a json object with one line per entry, so diffs stay readable."""
    with open(path, "w", encoding="utf-8") as file:
        body = json.dumps(header, ensure_ascii=False, indent=2)
        if entries_key is None:
            file.write(body + "\n")
            return
        file.write(body[:-2] + f',\n  "{entries_key}": [\n')
        lines = [json.dumps(entry, ensure_ascii=False, separators=(",", ":")) for entry in entries]
        file.write(",\n".join("    " + line for line in lines))
        file.write("\n  ]\n}\n")


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", message="This sequence already has")
    versions = package_versions()

    clip = open_clip_tokenizer.SimpleTokenizer()
    corpus = build_corpus(clip.encode)
    if len(corpus) < 250:
        raise SystemExit(f"corpus has {len(corpus)} strings, expected at least 250")
    write_json(
        OUT_DIR / "corpus.json",
        {"generator": "dev/make_tokenizer_fixtures.py", "count": len(corpus)},
        "strings",
        corpus,
    )

    clip_entries, rows = make_clip_entries(corpus, clip)
    add_padded_rows(clip_entries, rows)
    clip_header = {
        "generator": "dev/make_tokenizer_fixtures.py",
        "versions": versions,
        "tokenizer": "open_clip.tokenizer.SimpleTokenizer() via open_clip.tokenize(texts, context_length=248)",
        "context_length": CLIP_CONTEXT_LENGTH,
        "vocab_size": clip.vocab_size,
        "sot_id": clip.sot_token_id,
        "eot_id": clip.eot_token_id,
        "pad_id": 0,
        "vocab": clip_vocab_record(),
        "cleaning": clip_cleaning_record(clip),
        "entry_fields": {
            "cleaned": "text after the cleaning steps, before the regex split",
            "ftfy_changed": "whether ftfy.fix_text changes the raw text",
            "bpe_ids": "SimpleTokenizer.encode(text): no SOT/EOT, not truncated",
            "ids": "the row up to and including its EOT, before zero padding",
            "truncated": "whether SOT + bpe_ids + EOT exceeded the context length",
            "padded_row": "the whole zero-padded row from open_clip.tokenize, on 8 entries only",
        },
    }
    write_json(OUT_DIR / "clip_bpe.json", clip_header, "entries", clip_entries)

    lines = make_training_sentences(corpus)
    models = train_sentencepiece_models(lines)
    sp_entries, siglips = make_sentencepiece_entries(corpus, models)
    sp_header = {
        "generator": "dev/make_tokenizer_fixtures.py",
        "versions": versions,
        "max_length": SIGLIP_MAX_LENGTH,
        "models": models,
        "id_lists": {
            "sp_encode": "SentencePieceProcessor(model_file).encode(text) on the raw text: no EOS, no padding",
            "siglip_hf": siglip_tokenizer_notes(next(iter(siglips.values()))),
            "open_clip_hf_t5": open_clip_hf_notes(),
        },
        "entry_fields": {
            "siglip_canonicalized": "SiglipTokenizer.canonicalize_text(text) on the whole raw text",
            "open_clip_cleaned": "open_clip whitespace cleaning, the input of open_clip_hf_t5",
        },
    }
    write_json(OUT_DIR / "sentencepiece_ids.json", sp_header, "entries", sp_entries)

    total = sum(path.stat().st_size for path in OUT_DIR.iterdir() if path.is_file())
    if total > SIZE_LIMIT_BYTES:
        raise SystemExit(f"{OUT_DIR} holds {total} bytes, over the {SIZE_LIMIT_BYTES}-byte limit")
    for path in sorted(OUT_DIR.iterdir()):
        print(f"{path.stat().st_size:>9}  {path.relative_to(OUT_DIR.parent.parent.parent)}")
    print(f"{len(corpus)} strings, {total} bytes in total")


if __name__ == "__main__":
    main()
