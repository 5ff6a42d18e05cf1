"""Recognise opt-out and opt-in replies to dealership texts.

The rule, in order (a message is an opt-out if any step says so):

1. Keyword: after trimming whitespace, punctuation and emoji around it and ignoring case,
   the whole message is one of STOP, STOPALL (or STOP ALL), UNSUBSCRIBE, CANCEL, END,
   QUIT, REVOKE, OPTOUT (or OPT OUT / OPT-OUT). This is the CTIA rule carriers enforce.
2. Only unambiguous keywords plus filler: "Stop please", "STOP IT", "stop stop stop",
   "Unsubscribe now thanks". Only STOP, STOPALL, UNSUBSCRIBE and OPT OUT qualify here,
   because "cancel please" or "end it" usually answers a question about an appointment.
3. The last clause is such a keyword: "Not interested. STOP".
4. A clause that is a clear plain-language request, possibly after "please", "can you",
   "I want to" and the like: "stop texting me", "don't text me anymore", "remove me from
   your list", "take me off this list", "take me off this", "no more texts", "leave me alone", "I don't want
   any more messages", "I want to unsubscribe". A request limited in time ("don't text me
   before 10", "no more texts after 9pm") is a quiet-hours wish, not an opt-out.

Anything else is not an opt-out: "I can't stop thinking about the RAV4", "what time do
you end today?" and "Can I cancel my appointment and reschedule?" keep the conversation
going. A missed opt-out can cost a TCPA claim, a false one loses a customer, so the
plain-language patterns are narrow and each is covered by a test.

Spanish: ALTO, PARAR, PARE or BASTA as the whole message, and the plain requests "no me manden (más) mensajes",
"dejen de escribirme", "quiero darme de baja", "no quiero (recibir) más mensajes".

Opt-in is keywords only: START, UNSTOP or YES as the whole message. "Yes" in a longer
message is ordinary conversation; callers only treat it as opt-in after an opt-out.
"""

from __future__ import annotations

import re

OPT_OUT_KEYWORDS = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out",
     # Spanish, as the whole message: shoppers who write "hola" also write "ALTO".
     "alto", "parar", "pare", "basta"}
)
OPT_IN_KEYWORDS = frozenset({"start", "unstop", "yes"})

# Keywords that mean "stop messaging" even with filler around them.
_STRONG = frozenset({"stop", "stopall", "unsubscribe", "optout"})
_FILLER = frozenset(
    {"please", "pls", "plz", "now", "it", "all", "thanks", "thank", "you", "thx", "ty", "asap",
     "just", "ok", "okay", "already", "me"}
)

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_CLAUSES = re.compile(r"[.!?,;:\n]+")
_WORDS = re.compile(r"[a-z0-9']+")

# Softeners people put before a request; stripped so the request itself can be anchored
# at the start of the clause, which keeps "if you don't text me back" from matching.
_LEAD_IN = re.compile(
    r"^(?:(?:please|pls|plz|kindly|just|and|so|ok|okay|hey|hi|hello|sorry|but|seriously|now|por favor|porfa|ya|"
    r"can you|could you|would you|will you|can u|i asked you to|i told you to|i said|"
    r"i want to|i'd like to|i would like to|i wish to|i need to|how do i|how can i|let me|"
    r"i want you to|i'd like you to|i would like you to|i need you to)\s+)*"
)

# "...before 10", "...after 9pm", "...at night": a timing wish, checked on the next few words.
_TIMING = r"(?!(?:\s+[\w']+){0,2}\s+(?:before|after|until|till|til|during|between|today|tonight|tomorrow|" \
          r"at night|at work|so early|so late|this (?:early|late|morning|afternoon|evening|week|weekend)|" \
          r"on (?:weekends?|sundays?|saturdays?))\b)"

# The same wish in Spanish: "no me escriban antes de las 9".
_TIMING_ES = r"(?!.*\b(?:antes|despues|después|hasta|durante|temprano|de noche|en la noche|los fines)\b)"

_REQUESTS = tuple(
    re.compile(pattern)
    for pattern in (
        r"^(?:stop|quit|cease) (?:texting|txting|messaging|contacting|bothering|spamming|sending)\b" + _TIMING,
        r"^stop (?:all |the |these |your |ur )?(?:texts|text messages|messages|msgs|txts|spam)\b" + _TIMING,
        r"^(?:don't|do not|never) (?:text|txt|message|msg|contact|bother|spam) (?:me|us|this number)\b" + _TIMING,
        r"^(?:remove|take|delete|drop) (?:me|my (?:phone |cell )?number|my info(?:rmation)?) "
        r"(?:off|from|out of) (?:of )?(?:[\w']+ ){0,2}(?:list|lists|database|contacts|system|texts)\b",
        r"^(?:remove|delete) my (?:phone |cell )?number\b",
        # The whole clause, with nothing after it but "this"/"here": "take me off this", "remove me". Anchored at
        # the clause's end, because "take me off the appointment" or "remove me from the waitlist" keep talking.
        r"^(?:remove|take|get) me off(?: (?:of )?(?:this|that|it|here|there|this thing|this number|this thread|"
        r"these texts|these messages|ur list|your list))?$",
        r"^remove me(?: (?:from|off) (?:this|here|it|these texts|these messages))?$",
        r"^no more (?:texts|text messages|messages|msgs|txts|texting|spam)\b" + _TIMING,
        r"^leave me alone\b",
        r"^(?:unsubscribe|opt me out|opt out|optout)\b",
        r"^i (?:don't|do not) want (?:to (?:get|receive) )?(?:any )?(?:more )?"
        r"(?:texts|text messages|messages|msgs|txts)\b" + _TIMING,
        r"^be (?:removed|taken off)(?:$| (?:from|off) (?:of )?(?:[\w']+ ){0,2}"
        r"(?:list|lists|database|contacts|system|texts|messages)\b)",
        # Spanish: "no me manden más mensajes", "dejen de escribirme", "quiero darme de baja".
        r"^no (?:me )?(?:manden|mande|envien|envíen|envie|envíe|escriban|escriba)(?: (?:mas|más))?"
        r"(?: (?:mensajes|textos))?\b" + _TIMING_ES,
        r"^(?:dejen|deje) de (?:escribirme|mandarme|enviarme|molestarme)\b" + _TIMING_ES,
        r"^(?:quiero )?darme de baja\b",
        r"^no quiero (?:recibir )?(?:mas |más )?(?:mensajes|textos)\b" + _TIMING_ES,
    )
)


def _normalise(text: str) -> str:
    """Casefold, straighten apostrophes, join 'opt out' and collapse spaces."""
    text = text.casefold().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\bdont\b", "don't", text)
    text = re.sub(r"\bopt[\s_-]+out\b", "opt out", text)
    return re.sub(r"\s+", " ", text).strip()


def _keyword(text: str) -> str:
    """Return the message without surrounding punctuation, spacing or emoji."""
    return re.sub(r"[\s_-]+", " ", _EDGES.sub("", text))


def _only_strong_keywords(clause: str) -> bool:
    """Say whether a clause is strong keywords plus filler words only."""
    words = _WORDS.findall(clause.replace("opt out", "optout").replace("stop all", "stopall"))
    return bool(words) and any(w in _STRONG for w in words) and all(w in _STRONG or w in _FILLER for w in words)


def is_opt_out(text: str) -> bool:
    """Say whether an inbound text asks to stop messages (rule in the module docstring)."""
    normalised = _normalise(text)
    if _keyword(normalised) in OPT_OUT_KEYWORDS:
        return True
    clauses = [c.strip() for c in _CLAUSES.split(normalised) if _WORDS.search(c)]
    if not clauses:
        return False
    if _only_strong_keywords(normalised) or _only_strong_keywords(clauses[-1]):
        return True
    for clause in clauses:
        request = _LEAD_IN.sub("", clause)
        if any(pattern.search(request) for pattern in _REQUESTS):
            return True
    return False


def is_opt_in(text: str) -> bool:
    """Say whether an inbound text is exactly START, UNSTOP or YES, ignoring case and punctuation."""
    return _keyword(_normalise(text)) in OPT_IN_KEYWORDS
