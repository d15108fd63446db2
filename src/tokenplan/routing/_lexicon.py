"""Word lists and weights behind the prompt classifier.

Words are matched whole, lower-cased, on the classifier's window (digits are folded to ``0`` and
punctuation to spaces first). Weights are in "evidence units": about 1.0 is one clear sign.
Keep them generic - a word belongs here because it signals the capability in any prompt, not
because it appears in one benchmark's template.
"""

from __future__ import annotations

__all__ = [
    "CODE_ARTIFACTS",
    "CODE_STRONG",
    "CODE_SYNTAX",
    "CODE_TOPIC",
    "CODE_VERBS",
    "COMPLEX_PHRASES",
    "COMPLEX_WORDS",
    "GENERAL_WORDS",
    "LOGIC_NOTATION",
    "MATH_EXPRESSIONS",
    "MATH_STRONG",
    "MATH_WORDS",
    "REASONING_WORDS",
    "SIMPLE_STARTS",
]


def _weighted(weight: float, words: str) -> dict[bytes, float]:
    return {w.encode(): weight for w in words.split()}


# Words that are almost always code (identifiers and keywords of popular languages).
CODE_STRONG: dict[bytes, float] = {
    **_weighted(
        2.0,
        "def elif endif println printf sprintf fprintf cout nullptr ifndef ifdef "
        "usize isize const_cast numpy pandas dataframe stdout stdin stderr "
        "argv argc kwargs __init__ __name__ __main__ repr iterator iterable async await "
        "boolean bool int32 int64 uint8 float64 struct enum impl fn mut lambda jsx tsx "
        "javascript typescript python python3 java kotlin golang rust ruby php perl swift scala "
        "haskell clojure elixir erlang ocaml fortran cobol matlab lua bash zsh "
        "powershell sql mysql postgres postgresql sqlite mongodb redis graphql html css scss "
        "json yaml toml xml regex regexp docker dockerfile kubernetes kubectl terraform nginx "
        "git github npm maven gradle webpack django flask fastapi "
        "nodejs linux unix api apis sdk http https url endpoint endpoints "
        "backend frontend microservice microservices typeerror valueerror keyerror "
        "indexerror attributeerror nameerror importerror runtimeerror syntaxerror "
        "zerodivisionerror modulenotfounderror nullpointerexception nonetype",
    ),
    **_weighted(
        1.0,
        "function functions method methods class classes subclass interface compile compiler "
        "compiled runtime debug debugging bug bugs refactor refactoring codebase repository "
        "repo script scripts program programs programming code coding coder snippet "
        "implement implementation algorithm algorithms recursion recursive iterative array "
        "arrays linked hashmap hashtable dict dictionary tuple tuples variable variables "
        "parameter parameters argument arguments integer string strings substring char "
        "binary tree trees node nodes graph graphs stack queue heap pointer pointers "
        "exception exceptions traceback stacktrace segfault syntax unittest pytest testcase "
        "library libraries framework module modules package packages database query queries "
        "schema server client socket thread threads concurrency mutex deadlock cache "
        "deploy deployment",
    ),
}

# Source-code tokens seen in the folded window (substring checks); each one present is one unit.
CODE_SYNTAX: tuple[tuple[str, str], ...] = (
    ("```", "fenced block"),
    ("):\n", "block colon"),
    ("{\n", "brace block"),
    ("};", "brace-semicolon"),
    (");\n", "statement end"),
    ("=>", "arrow"),
    ("->", "arrow"),
    ("!=", "operator !="),
    ("==", "operator =="),
    ("#include", "#include"),
    ("print(", "print("),
    ("</", "markup"),
    ("\n    ", "indentation"),
    ("c++", "c++"),
    ("c#", "c#"),
)

# Programming-task words that need a second sign to mean code ("write a function ...").
CODE_TOPIC: dict[bytes, float] = _weighted(
    1.0,
    "write implement develop build create design fix optimize complexity input output "
    "return returns given sorted list lists element elements index",
)
# A request to produce one of these with one of CODE_VERBS is a programming task.
CODE_ARTIFACTS: frozenset[bytes] = frozenset(
    _weighted(
        1.0,
        "function functions program programs script scripts method methods class classes code "
        "snippet implementation algorithm query queries regex regexp api endpoint unittest bug "
        "bugs "
        "python javascript typescript java golang rust ruby php sql bash html css",
    )
)
CODE_VERBS: frozenset[bytes] = frozenset(
    _weighted(1.0, "write implement develop build create fix debug refactor optimize generate")
)

MATH_STRONG: dict[bytes, float] = {
    **_weighted(
        2.0,
        "equation equations integral integrals derivative derivatives polynomial polynomials "
        "theorem lemma factorial logarithm logarithms sqrt quadratic inequality inequalities "
        "matrix matrices determinant eigenvalue eigenvalues vector vectors arithmetic "
        "algebra algebraic calculus trigonometry geometry probability probabilities "
        "combinatorics permutations permutation combinations modulo divisible divisor "
        "divisors gcd lcm prime primes remainder exponent exponents fraction fractions "
        "decimal decimals percent percentage subgroup subgroups abelian homomorphism "
        "homomorphic isomorphism isomorphic semigroup irreducible commutative bijective "
        "injective surjective topology manifold prove proof infinitely",
    ),
    **_weighted(
        1.0,
        "solve solving calculate calculation compute computing evaluate sum product "
        "difference quotient multiply multiplied divide divided subtract subtracted add "
        "added total average mean median mode ratio proportion area perimeter volume "
        "radius diameter circumference triangle triangles circle circles square squares "
        "rectangle angle angles degrees slope intercept integer integers digit digits "
        "rational irrational number numbers odd even infinite series sequence limit "
        "converge diverges statistics statistical expected variance deviation distribution",
    ),
}

# Math notation on the folded window (lower-case, every digit folded to "0"); each kind found
# counts once.
MATH_EXPRESSIONS: tuple[str, ...] = (
    "0 + 0",
    "0+0",
    "0 * 0",
    "0*0",
    "0 / 0",
    "0 = ",
    " = 0",
    "0x+",
    "0x^",
    "^0",
    "x^",
    "f(x)",
    "0%",
    "\\frac",
    "\\sqrt",
    "$$",
    "\\(",
)

# Symbols of formal logic (for all, exists, and, or, not, implies, iff, entails).
LOGIC_NOTATION: tuple[str, ...] = (
    "\u2200",
    "\u2203",
    "\u2227",
    "\u2228",
    "\u00ac",
    "\u2283",
    "\u2261",
    "\u22a2",
    "\u2194",
)

# Arithmetic word-problem cues: quantities, money, units, number words.
MATH_WORDS: dict[bytes, float] = _weighted(
    1.0,
    "each per cost costs price prices pay paid earn earns earned spend spent save saved "
    "buy buys bought sell sells sold profit dollars cents hour hours minutes seconds week "
    "weeks day days year years month months times twice half third thirds quarter double "
    "triple remaining fewer altogether total miles mph km kilometers meters feet inches "
    "pounds kg grams liters gallons speed rate distance one two three four five six seven "
    "eight nine ten eleven twelve fifteen twenty thirty fifty hundred thousand million",
)

# Reasoning means deduction over given facts, not recalling one: logic vocabulary is strong
# evidence, the vocabulary of explanation and comparison only weak (knowledge questions use it).
REASONING_WORDS: dict[bytes, float] = {
    **_weighted(
        2.5,
        "logic logical puzzle riddle deduce deduction deductive infer inference inductive "
        "syllogism premise premises fallacy fallacies paradox contradiction contradicts "
        "implies implication entail entails entailment counterexample conclude conclusion "
        "therefore hence reasoning",
    ),
    **_weighted(
        0.6,
        "reason reasons explain explanation assume assumption hypothesis argument "
        "arguments evidence valid invalid statement statements uncertain consequence predict "
        "prediction observe observed observation experiment relationship older younger "
        "taller shorter faster slower sister sisters brother brothers father mother "
        "adjacent arrangement arrangements youngest oldest tallest shortest follows weigh "
        "tradeoff tradeoffs pros cons dilemma",
    ),
    **_weighted(
        0.3,
        "why because likely unlikely probably most least best true false cause causes caused "
        "effect effects compare order before after position direction north south east west",
    ),
}

GENERAL_WORDS: dict[bytes, float] = _weighted(
    1.0,
    "essay story poem poetry haiku song lyrics email letter blog post article tweet slogan "
    "headline summary summarize summarise paraphrase rewrite rephrase translate translation "
    "describe description recommend recommendation suggest suggestions ideas tips advice "
    "plan itinerary recipe review opinion history historical culture biography capital "
    "country countries famous meaning definition define synonym grammar spelling tone "
    "persuasive creative character characters dialogue roleplay pretend imagine",
)

# Words that ask for depth, breadth or rigour.
COMPLEX_WORDS: dict[bytes, float] = {
    **_weighted(
        1.5,
        "prove proof proofs derive derivation rigorous rigorously theorem architect "
        "architecture scalable scalability distributed concurrency concurrent tradeoff "
        "tradeoffs trade-offs comprehensive thorough thoroughly in-depth multi-step",
    ),
    **_weighted(
        1.0,
        "design optimize optimise optimization edge constraints constraint requirements "
        "requirement efficient efficiently complexity benchmark analyze analyse analysis "
        "critique evaluate assess justify formal formally detailed deduce",
    ),
    **_weighted(
        0.5,
        "compare contrast discuss explain elaborate implement develop strategy steps step "
        "plan multiple several various every",
    ),
}

# Multi-word or hyphenated signs of depth, matched on the folded (lower-cased) window.
COMPLEX_PHRASES: tuple[tuple[str, float], ...] = (
    ("trade-off", 1.5),
    ("pros and cons", 1.0),
    ("in-depth", 1.5),
    ("step-by-step", 1.0),
    ("step by step", 1.0),
    ("multi-step", 1.5),
    ("end-to-end", 1.0),
    ("production-ready", 1.5),
)

# First words of prompts that are usually quick to answer.
SIMPLE_STARTS: frozenset[bytes] = frozenset(
    _weighted(
        1.0,
        "hi hello hey thanks thank what who when where is are define translate name list "
        "spell convert",
    )
)
