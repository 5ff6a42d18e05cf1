"""How a shopper's message is made readable for the rules: one normal form for case, accents, emoji, slang and typos.

Pure and deterministic. Both `when` and `understanding` read the normal form, so "TMRW", "tommorow" and "mañana"
reach the same rule. Contact details (phone, email) and names are read from the raw text, not from here.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Written as shoppers write them; mapped whole-word only.
SLANG = {
    "u": "you", "ya": "you", "yall": "you all", "y'all": "you all", "ur": "your", "r": "are", "urs": "yours",
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow", "tmw": "tomorrow", "2moro": "tomorrow",
    "2morrow": "tomorrow", "tomoro": "tomorrow", "tomm": "tomorrow", "tmro": "tomorrow", "tomorow": "tomorrow",
    "tn": "tonight", "tonite": "tonight", "2nite": "tonight", "2day": "today", "tday": "today", "2morow": "tomorrow",
    "hrs": "hours", "hr": "hour", "appt": "appointment", "appts": "appointments", "apt": "appointment",
    "wknd": "weekend", "wkend": "weekend", "wkd": "weekend",
    "pls": "please", "plz": "please", "thx": "thanks", "ty": "thanks", "tysm": "thanks",
    "wat": "what", "wut": "what", "wht": "what", "whats": "what is", "wheres": "where is", "hows": "how is",
    "im": "i am", "i'm": "i am", "id": "i would", "i'd": "i would", "ive": "i have", "i've": "i have",
    "dont": "don't", "cant": "can't", "wont": "won't", "didnt": "didn't", "doesnt": "doesn't", "isnt": "isn't",
    "wanna": "want to", "gonna": "going to", "gotta": "got to", "lmk": "let me know", "rn": "right now",
    "b4": "before", "bc": "because", "cuz": "because", "abt": "about", "w/": "with", "info": "information",
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "weds": "wednesday",
    "thu": "thursday", "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday",
    "sun": "sunday", "sats": "saturdays", "suns": "sundays",
    "jan": "january", "feb": "february", "jun": "june", "jul": "july", "aug": "august", "sep": "september",
    "sept": "september", "oct": "october", "nov": "november", "dec": "december",
    "q": "que", "quanto": "cuanto", "xq": "porque", "pq": "porque", "tb": "tambien",
    "veh": "vehicle", "vehical": "vehicle", "vehicule": "vehicle", "suvs": "suvs", "ev": "ev",
    "mgr": "manager", "rep": "representative", "reps": "representatives", "ppl": "people",
    "otd": "out the door", "wya": "where you at", "hmu": "let me know", "tst": "test", "tsst": "test",
    "drv": "drive", "drve": "drive", "pmt": "payment", "pmts": "payments", "pymt": "payment", "svc": "service",
    "srvc": "service", "oil chg": "oil change", "chg": "change", "ngl": "", "lol": "", "lmao": "", "fr": "", "bhph": "buy here pay here", "msg": "message", "txt": "text", "yr": "year",
    "gimme": "give me", "hm": "how much", "addy": "addy", "sum1": "someone", "every1": "everyone", "wks": "weeks", "hw": "how", "tes": "test",
}

# Words the rules care about; a misspelling close to one of them is read as it.
VOCABULARY = frozenset("""
tomorrow today tonight morning afternoon evening weekend saturday sunday monday tuesday wednesday thursday friday
january february march april june july august september october november december
financing finance financed credit interest payment payments monthly lease leasing approved approval cosigner loan
appointment appointments schedule available availability inventory location located address directions
dealership showroom service maintenance transmission inspection alignment rotation battery brakes change engine
price pricing discount negotiable negotiate trade trading appraisal worth value test drive
representative manager salesperson someone somebody person human real speak talk
ridiculous unacceptable disappointed terrible horrible unprofessional frustrated complaint
hours closed close closing open opening what where when tomorrow please thanks vehicle
""".split())

# Real words that sit one letter from a vocabulary word and must stay themselves.
PROTECTED = frozenset("""
chance north worse house texts texted texting phone drove driven driver drives later dealer trader trades tired times tries
spoke closer closet opens person persons humans clothes prize prime pride waste paste
credits crest trace track trail trails train close cause values valued monthly weekly worthy wort
sever server serve served serves manger mangers range ranger annual cheese shame
carry civil least leave leaves leaving manage managed perdon persona personas leash leaser
tarde tardes noche noches lunes martes hora horas horario cita carro carros cuanto cuesta donde prueba manejo
quiero tienen tiene usado usados nuevo nuevos hablar alguien precio aceite abren cierran
interesa interesado interesada interesan intereso
""".split())

_EMOJI_OR_SYMBOL = re.compile(r"[^\w\s'\":/#$.,@?!&+%<>()\-]", re.UNICODE)
_WORD = re.compile(r"(?<![\w@.])[a-z0-9][a-z0-9']*(?![\w@])")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Lower case, no accents, no emoji, slang and near-miss spellings replaced, single spaces."""
    text = strip_accents((text or "").casefold().replace("\u2019", "'").replace("\u2018", "'"))
    text = _EMOJI_OR_SYMBOL.sub(" ", text)
    text = _WORD.sub(lambda m: _fix_word(m.group(0)), text)
    return _SPACES.sub(" ", text).strip()


@functools.lru_cache(maxsize=16384)
def _fix_word(word: str) -> str:
    if word in SLANG:
        return SLANG[word]
    if not word[0].isalpha():
        return word
    if len(word) < 5 or word in VOCABULARY or word in PROTECTED:
        return word
    limit = 1 if len(word) < 8 else 2
    best, best_distance = word, limit + 1
    for target in VOCABULARY:
        # Most typos keep the first letter; requiring it keeps "north" from becoming "worth".
        if target[0] != word[0] or abs(len(target) - len(word)) > limit:
            continue
        if word.startswith(target) or target.startswith(word):
            continue  # "interested", "prices", "persona": a real word built on the target, not a typo of it
        distance = _distance(word, target, limit)
        if distance < best_distance or (distance == best_distance and target < best):
            best, best_distance = target, distance
    return best if best_distance <= limit else word


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (adjacent swaps count one), giving up beyond `limit`."""
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return previous[-1]
