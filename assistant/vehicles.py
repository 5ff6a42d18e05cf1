"""Vehicles named in a message: make, model, trim, colour, condition, year, price ceiling, stock number, VIN, miles.

Pure. Models come from `known_models` ((make, model) pairs, e.g. the rooftop's live inventory); a model is found
however it is spaced or hyphenated ("rav 4", "RAV-4", "rav4s", "cr-v's", "F150") and the make follows from it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from assistant.text import PROTECTED, VOCABULARY
from assistant.text import _distance as distance

DEFAULT_MODELS: tuple[tuple[str, str], ...] = tuple(
    (make, model)
    for make, models in {
        "Toyota": ["RAV4", "Camry", "Corolla", "Corolla Cross", "Tacoma", "Tundra", "Highlander", "Grand Highlander",
                   "4Runner", "Prius", "Sienna", "Sequoia", "bZ4X", "Venza", "Crown", "GR86", "Supra", "Land Cruiser",
                   "C-HR", "Avalon", "Yaris"],
        "Honda": ["Civic", "Accord", "CR-V", "HR-V", "Pilot", "Odyssey", "Passport", "Ridgeline", "Prologue", "Fit"],
        "Ford": ["F-150", "F-250", "Escape", "Explorer", "Bronco", "Bronco Sport", "Mustang", "Mustang Mach-E",
                 "Maverick", "Ranger", "Expedition", "Edge", "Transit", "Fusion"],
        "Chevrolet": ["Silverado", "Equinox", "Tahoe", "Malibu", "Traverse", "Trax", "Blazer", "Colorado",
                      "Suburban", "Camaro", "Corvette", "Bolt", "Trailblazer"],
        "Nissan": ["Altima", "Rogue", "Sentra", "Frontier", "Pathfinder", "Kicks", "Murano", "Leaf", "Titan",
                   "Armada", "Versa", "Maxima"],
        "Hyundai": ["Elantra", "Sonata", "Tucson", "Santa Fe", "Palisade", "Kona", "Ioniq 5", "Ioniq 6",
                    "Santa Cruz", "Venue"],
        "Kia": ["Telluride", "Sorento", "Sportage", "Forte", "Soul", "Seltos", "K5", "EV6", "EV9", "Carnival",
                "Niro"],
        "Subaru": ["Outback", "Forester", "Crosstrek", "Ascent", "Impreza", "WRX", "Legacy", "Solterra"],
        "Jeep": ["Wrangler", "Grand Cherokee", "Cherokee", "Compass", "Gladiator", "Renegade", "Wagoneer"],
        "Ram": ["1500", "2500", "3500", "ProMaster"],
        "GMC": ["Sierra", "Yukon", "Acadia", "Terrain", "Canyon"],
        "Mazda": ["CX-5", "CX-30", "CX-50", "CX-90", "Mazda3", "MX-5 Miata"],
        "Volkswagen": ["Jetta", "Tiguan", "Atlas", "Golf", "ID.4", "Taos"],
        "Tesla": ["Model 3", "Model Y", "Model X", "Cybertruck"],
        "BMW": ["X3", "X5", "3 Series", "5 Series"],
        "Lexus": ["RX", "NX", "GX"],
        "Dodge": ["Charger", "Durango", "Challenger"],
        "Acura": ["MDX", "RDX", "Integra", "TLX"],
    }.items()
    for model in models
)

MAKE_ALIASES = {
    "toyota": "Toyota", "honda": "Honda", "ford": "Ford", "chevrolet": "Chevrolet", "chevy": "Chevrolet",
    "nissan": "Nissan", "hyundai": "Hyundai", "kia": "Kia", "subaru": "Subaru", "jeep": "Jeep", "ram": "Ram",
    "dodge ram": "Ram", "gmc": "GMC", "mazda": "Mazda", "volkswagen": "Volkswagen", "vw": "Volkswagen",
    "tesla": "Tesla", "bmw": "BMW", "lexus": "Lexus", "dodge": "Dodge", "acura": "Acura", "audi": "Audi",
    "mercedes": "Mercedes-Benz", "mercedes benz": "Mercedes-Benz", "benz": "Mercedes-Benz", "buick": "Buick",
    "cadillac": "Cadillac", "chrysler": "Chrysler", "infiniti": "Infiniti", "lincoln": "Lincoln",
    "volvo": "Volvo", "mitsubishi": "Mitsubishi", "porsche": "Porsche", "genesis": "Genesis",
}
# Extra spellings of models (compact key → canonical model name).
MODEL_ALIASES = {"mache": "Mustang Mach-E", "machе": "Mustang Mach-E", "miata": "MX-5 Miata", "mazda3": "Mazda3",
                 "ram1500": "1500", "ram2500": "2500", "ram3500": "3500", "cherokees": "Cherokee"}
# Models that are also everyday words: taken only when written with a capital, or right after a year, make,
# colour or condition ("my 2019 escape", "a used Ranger"), so "on the edge" or "any chance" stay words.
EVERYDAY_WORD_MODELS = frozenset({
    "edge", "soul", "kicks", "leaf", "crown", "compass", "legacy", "escape", "passport", "ranger", "frontier",
    "titan", "atlas", "fit", "venue", "golf", "bolt", "transit", "fusion", "integra", "charger", "terrain",
    "canyon", "taos", "ascent", "rx", "gx", "nx", "1500", "2500", "3500", "x3", "x5", "k5", "venza",
    "supra", "maverick", "explorer", "pilot",
})
TRIMS = {
    "hybrid": "Hybrid", "xle": "XLE", "le": "LE", "se": "SE", "xse": "XSE", "limited": "Limited",
    "platinum": "Platinum", "trd pro": "TRD Pro", "trd off road": "TRD Off-Road", "trd sport": "TRD Sport",
    "sport": "Sport", "ex": "EX", "ex l": "EX-L", "exl": "EX-L", "lx": "LX", "touring": "Touring",
    "lariat": "Lariat", "xlt": "XLT", "king ranch": "King Ranch", "raptor": "Raptor", "denali": "Denali",
    "at4": "AT4", "lt": "LT", "ltz": "LTZ", "premier": "Premier", "sr5": "SR5", "sv": "SV", "sl": "SL",
    "sx": "SX", "sx prestige": "SX Prestige", "calligraphy": "Calligraphy", "wilderness": "Wilderness",
    "rubicon": "Rubicon", "sahara": "Sahara", "willys": "Willys", "trailhawk": "Trailhawk", "overland": "Overland",
    "summit": "Summit", "gt": "GT", "type r": "Type R", "si": "Si", "sel": "SEL", "titanium": "Titanium",
    "prime": "Prime", "nightshade": "Nightshade", "woodland": "Woodland", "laredo": "Laredo",
    "big horn": "Big Horn", "rebel": "Rebel", "longhorn": "Longhorn", "elite": "Elite", "trailsport": "TrailSport",
    "rst": "RST", "z71": "Z71", "high country": "High Country", "pro 4x": "PRO-4X", "nismo": "Nismo",
    "n line": "N Line", "xt": "XT", "plug in": "Plug-in", "4xe": "4xe", "woodland edition": "Woodland",
    "premium": "Premium", "ex premium": "EX Premium", "s line": "S Line", "long range": "Long Range",
    "performance": "Performance",
}
COLORS = {
    "white": "white", "black": "black", "silver": "silver", "gray": "gray", "grey": "gray", "red": "red",
    "blue": "blue", "green": "green", "brown": "brown", "beige": "beige", "tan": "tan", "gold": "gold",
    "orange": "orange", "yellow": "yellow", "purple": "purple", "maroon": "maroon", "burgundy": "burgundy",
    "pearl": "white", "charcoal": "gray", "navy": "blue", "blanco": "white", "blanca": "white", "negro": "black",
    "negra": "black", "rojo": "red", "roja": "red", "azul": "blue", "gris": "gray", "plata": "silver",
    "plateado": "silver", "plateada": "silver", "verde": "green",
}
CONDITIONS = {
    "new": "new", "brand new": "new", "nuevo": "new", "nueva": "new", "nuevos": "new", "nuevas": "new",
    "used": "used", "pre owned": "used", "preowned": "used", "pre-owned": "used", "certified": "used",
    "certified pre owned": "used", "cpo": "used", "usado": "used", "usada": "used", "usados": "used",
    "usadas": "used", "seminuevo": "used", "seminuevos": "used", "second hand": "used",
}
# Words that stand for "a vehicle" without naming one.
VEHICLE_NOUNS = frozenset({
    "car", "cars", "truck", "trucks", "suv", "suvs", "ev", "evs", "electric", "hybrid", "hybrids", "minivan",
    "minivans", "van", "vans", "sedan", "sedans", "coupe", "coupes", "convertible", "pickup", "pickups", "4x4",
    "awd", "one", "ones", "vehicle", "vehicles", "carro", "carros", "auto", "autos", "camioneta", "camionetas",
    "coche", "coches", "crossover", "crossovers", "wagon", "jeep", "jeeps",
})

_TOKEN = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"^(?:199\d|20[0-3]\d)$")
_SHORT_YEAR = re.compile(r"^'(\d\d)$")
_MAX_PRICE = re.compile(
    r"\b(?:under|below|less than|no more than|not more than|nothing (?:over|above|more than)|not over|"
    r"max(?:imum)?|up to|budget(?: is| of)?|within|"
    r"at most|menos de|hasta|cheaper than|under like|around|about)\s*\$?\s*(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*"
    r"(k\b|grand\b|thousand\b|mil\b)?")
_MILES = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b)?\s*(?:miles|mi\b|millas|mileage)")
_STOCK = re.compile(r"\b(?:stock|stk|inventory)\s*(?:#|no\.?|num(?:ber)?\.?|number|id)?\s*[:#]?\s*#?\s*"
                    r"([a-z0-9][a-z0-9-]{2,11})\b", re.IGNORECASE)
_VIN = re.compile(r"\b([A-HJ-NPR-Z0-9]{17})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    """One vehicle named in the message, by token positions in the normal form."""
    make: str | None
    model: str | None
    first: int  # index of the first token of the mention
    last: int  # index of the last token


@dataclass(frozen=True)
class Catalogue:
    models: dict[str, tuple[str, str]]  # compact key → (make, model)
    makes: dict[str, str]
    misspellable: tuple[str, ...] = ()  # one-word model keys a near miss may be read as ("tacomma" → tacoma)


@functools.lru_cache(maxsize=32)
def catalogue(known_models: tuple[tuple[str, str], ...]) -> Catalogue:
    models: dict[str, tuple[str, str]] = {}
    for make, model in known_models:
        models[compact(model)] = (make, model)
        models[compact(f"{make} {model}")] = (make, model)
    for key, model in MODEL_ALIASES.items():
        for make, known in known_models:
            if known == model:
                models.setdefault(key, (make, model))
    makes = {compact(alias): make for alias, make in MAKE_ALIASES.items()}
    misspellable = tuple(sorted(compact(model) for _, model in known_models
                                if " " not in model and len(compact(model)) >= 5
                                and compact(model) not in EVERYDAY_WORD_MODELS))
    return Catalogue(models=models, makes=makes, misspellable=misspellable)


def compact(name: str) -> str:
    return "".join(_TOKEN.findall(name.lower()))


def tokens(normalised: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(normalised))


def find_mentions(words: list[str], raw_capitalised: set[str], all_caps: bool, cat: Catalogue) -> list[Mention]:
    """Vehicles named, longest spelling first at each place ("grand cherokee" before "cherokee")."""
    found: list[Mention] = []
    i = 0
    while i < len(words):
        matched = None
        for width in (4, 3, 2, 1):
            if i + width > len(words):
                continue
            key = "".join(words[i:i + width])
            hit = _lookup(key, cat)
            if hit is None:
                continue
            kind, make, model, _ = hit
            if (kind == "model" and width == 1 and hit[3] in EVERYDAY_WORD_MODELS
                    and not _vouched(words, i, raw_capitalised, all_caps, cat)):
                continue
            matched = (width, make, model)
            break
        if matched:
            width, make, model = matched
            # "Toyota RAV4": a make followed by its model is one mention.
            if model is None and i + width < len(words):
                following = None
                for next_width in (3, 2, 1):
                    key = "".join(words[i + width:i + width + next_width])
                    hit = _lookup(key, cat)
                    if hit and hit[0] == "model":
                        following = (next_width, hit)
                        break
                if following:
                    next_width, (_, _, next_model, _) = following
                    found.append(Mention(make, next_model, i, i + width + next_width - 1))
                    i += width + next_width
                    continue
            found.append(Mention(make, model, i, i + width - 1))
            i += width
        else:
            near = _near_miss(words, i, cat)
            if near:
                found.append(Mention(*cat.models[near], i, i))
            i += 1
    return found


# Words after which a near miss of a model name is read as the model: "a tacomma", "the camery", "used civc".
_NEAR_MISS_CONTEXT = frozenset({"the", "a", "an", "any", "my", "used", "new", "that", "this", "those", "these", "la",
                                "el", "una", "un", "mi"})


def _near_miss(words: list[str], i: int, cat: Catalogue) -> str | None:
    word = words[i]
    if len(word) < 4 or not word.isalpha() or word in VOCABULARY or word in PROTECTED:
        return None
    before = words[i - 1] if i else ""
    if not (before in _NEAR_MISS_CONTEXT or before in COLORS or _YEAR.match(before) or compact(before) in cat.makes):
        return None
    for candidate in (word, word[:-1] if word.endswith("s") else word):
        limit = 1 if len(candidate) < 8 else 2
        best = [key for key in cat.misspellable
                if key[0] == candidate[0] and abs(len(key) - len(candidate)) <= limit
                and distance(candidate, key, limit) <= limit]
        if len(best) == 1:
            return best[0]
    return None


def _lookup(key: str, cat: Catalogue) -> tuple[str, str | None, str | None, str] | None:
    """("model" or "make", make, model, the key that matched), reading plurals as singular ("camrys", "rogues")."""
    candidates = [key]
    if key.endswith("s") and len(key) > 3:
        candidates.append(key[:-1])
        if key.endswith("es"):
            candidates.append(key[:-2])
        if key.endswith("ies"):
            candidates.append(key[:-3] + "y")
    for candidate in candidates:
        if candidate in cat.models:
            make, model = cat.models[candidate]
            return "model", make, model, candidate
        if candidate in cat.makes:
            return "make", cat.makes[candidate], None, candidate
    return None


def _vouched(words: list[str], i: int, raw_capitalised: set[str], all_caps: bool, cat: Catalogue) -> bool:
    if not all_caps and words[i] in raw_capitalised:
        return True
    before = words[max(0, i - 2):i]
    return any(_YEAR.match(w) or w in COLORS or w in CONDITIONS or compact(w) in cat.makes
               or (all_caps and w in ("a", "the", "any", "my")) for w in before)


def find_trim(words: list[str], after: int) -> str | None:
    """A trim written just after the model ("tacoma trd pro", "civic si")."""
    for start in range(after + 1, min(after + 3, len(words))):
        for width in (3, 2, 1):
            phrase = " ".join(words[start:start + width])
            if phrase in TRIMS:
                return TRIMS[phrase]
    return None


def find_year(words: list[str], mention: Mention) -> int | None:
    for index in list(range(mention.first - 1, max(-1, mention.first - 4), -1)) + \
            list(range(mention.last + 1, min(len(words), mention.last + 3))):
        if _YEAR.match(words[index]):
            return int(words[index])
    return None


def find_color(words: list[str], mention: Mention | None) -> str | None:
    if mention is not None:
        for index in range(max(0, mention.first - 3), min(len(words), mention.last + 4)):
            if words[index] in COLORS:
                return COLORS[words[index]]
    for word in words:
        if word in COLORS:
            return COLORS[word]
    return None


def find_condition(words: list[str], mention: Mention | None) -> str | None:
    """New or used, when said next to the vehicle or next to a word for a vehicle ("used trucks", "carros usados")."""
    anchors = [index for index, word in enumerate(words) if word in VEHICLE_NOUNS]
    if mention is not None:
        anchors = [mention.first] + anchors
        last = {mention.first: mention.last}
    else:
        last = {}
    for anchor in anchors:
        end = last.get(anchor, anchor)
        for start in range(max(0, anchor - 4), anchor):
            for width in (3, 2, 1):
                if start + width > anchor:
                    continue
                phrase = " ".join(words[start:start + width])
                if phrase in CONDITIONS:
                    return CONDITIONS[phrase]
        for index in range(end + 1, min(len(words), end + 3)):
            if words[index] in CONDITIONS and words[index] not in ("new",):
                return CONDITIONS[words[index]]
    return None


def find_max_price(normalised: str) -> int | None:
    for match in _MAX_PRICE.finditer(normalised):
        number = float(match.group(1).replace(",", ""))
        if match.group(2):
            number *= 1000
        elif number < 1000:
            continue  # "under 400" is a monthly payment, not a price
        if match.group(0).startswith(("around", "about")) and not match.group(2) and number < 5000:
            continue
        return int(number)
    return None


# "a 2011 sienna w 180k", "160k on it": thousands of miles said without the word.
_MILES_IMPLIED = re.compile(r"(?:\b(?:w|w/|with|has|got|at)\s+(\d{2,3})(k)\b(?!\s*(?:down|budget|\$|price|cash))|"
                            r"\b(\d{2,3})(k) on (?:it|her|the clock|the odometer)\b)")


def find_mileage(normalised: str) -> int | None:
    match = _MILES.search(normalised)
    if not match:
        implied = _MILES_IMPLIED.search(normalised)
        if implied:
            return int(implied.group(1) or implied.group(3)) * 1000
        return None
    number = float(match.group(1).replace(",", ""))
    return int(number * 1000) if match.group(2) else int(number)


def find_stock_number(raw: str) -> str | None:
    for match in _STOCK.finditer(raw):
        value = match.group(1)
        if any(c.isdigit() for c in value) and len(value) < 17:
            return value.upper()
    return None


def find_vin(raw: str) -> str | None:
    for match in _VIN.finditer(raw):
        value = match.group(1).upper()
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value
    return None
