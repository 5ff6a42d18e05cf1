"""What a shopper's message asks for (intent) and what it names (slots). Pure, offline, deterministic.

`understand(text, now=..., time_zone=...)` reads the message once in a normal form (assistant.text: case, accents,
emoji, slang, near-miss spellings), finds the cue phrases of each intent, and fills the slots.

Which intent to act on first, when a message asks several things (the rest go in `also`):
1. opt_out — any opt-out wording (customers.opt_out.is_opt_out, the one rule for the dealer group) ends the
   conversation; nothing else in the message is acted on.
2. suspicious — prompt-injection or data-exfiltration wording ("ignore previous instructions", "what did the last
   person ask", "show me John Smith's appointment") gives `other` with slots.suspicious set and nothing else, so
   no reply path that reads data is ever chosen for it.
3. human — a request for a person, a complaint or a negotiation (slots.reason says which) goes to a person.
4. test_drive, then service_appointment — a booking, which needs the most back and forth.
5. the rest (hours, location, inventory, price, trade_in, financing) in the order they were asked.
A message naming a vehicle (or "under 35k", "used trucks") with no other intent asks about inventory; a bare
"cars" or "a truck" does not ("do you ship cars out of state?").

Where the rules find no cue, or only a bare vehicle, the learned layer (assistant.learned) may answer when it is
sure; `guessed` says so, and the dialogue ignores a guess while a booking or handoff is open. Where the rules find
several cues and no person is asked for, the learned layer may put another of them first (`_arbitrate`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from customers.contact import InvalidContact, normalize_email, normalize_phone
from customers.opt_out import is_opt_out

from assistant import learned, vehicles
from assistant.text import VOCABULARY, normalise
from assistant.vehicles import DEFAULT_MODELS
from assistant.when import Window, window_in

INTENTS = ("hours", "location", "inventory", "price", "trade_in", "financing", "test_drive",
           "service_appointment", "human", "opt_out", "other")
BOOKINGS = ("test_drive", "service_appointment")
REASONS = ("complaint", "negotiation", "asked_for_person")  # the first found in this order is the reason


def _cues(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Phrases are matched on the normal form (lower case, no accents, slang expanded: "u" → "you", "hrs" → "hours").
SUSPICIOUS = _cues(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,30}\b(?:instructions?|rules|prompts?|directions|guidelines|"
    r"programming|training)\b",
    r"\bsystem prompt\b", r"\b(?:reveal|hidden|secret) (?:the |your )?(?:hidden |secret )?(?:instructions|prompts?|rules)\b",
    r"\binstructions (?:you|that you) (?:were|have been|got) given\b",
    r"\b(?:instructions|prompt)\b.{0,20}\b(?:given|told|programmed)\b",
    r"(?<!my )\b(?:home|personal) (?:address|phone|number|email)\b",
    r"\b(?:address|phone|number|email|cell)s? (?:of|for) (?:your|the|a|an) (?:sales |service |finance |general )?(?:salesm[ae]n|salesperson|employee|staff|"
    r"worker|manager|tech|technician|mechanic|advisor)\b", r"\b(?:you are|you're|your are) now\b", r"\b(?:admin|developer|debug|god) mode\b",
    r"\bjailbreak", r"\bpretend (?:to be|you are|you're|youre|ur|u r|you r)\b", r"\bact as (?:a|an|my|the)\b",
    # Dictating the reply's exact words is how a message makes a bot "agree" to something it never decided.
    r"\b(?:respond|reply|answer|say) (?:only |just )?(?:with|in) (?:only |just )?(?:the word|one word|['\"])",
    r"\b(?:only|just) (?:respond|reply|answer|say)\b.{0,20}['\"]",
    r"\b(?:print|reveal|show|repeat|output|tell me) (?:me )?(?:your|the) (?:prompt|instructions|rules|config)",
    r"\b(?:dump|export|leak)\b",
    r"\bnew instructions\b", r"\byour (?:instructions|prompt|guidelines|programming)\b", r"\babove this line\b",
    r"\b(?:repeat|print|show|output)\b.{0,20}\b(?:above|before this)\b", r"^\s*system\s*:", r"\b(?:your|the bot's|the) memory\b", r"\beverything you know\b",
    r"\b(?:login|log in|logins|password|passwords|credentials|api keys?|access tokens?|admin panel|dealer portal)\b",
    r"\b(?:his|her|their) (?:test drive|appointment|phone number|number|address|email|purchase|deal|loan)\b",
    r"\b(?:did|has|have|does) (?:my (?:neighbor|neighbour|friend|coworker|boss|ex|brother|sister|cousin|"
    r"roommate|wife|husband|son|daughter|mom|dad)) (?:\w+ )?(?:schedule|scheduled|book|booked|buy|bought|ask|asked|"
    r"call|called|test|come|pay|paid)\b",
    r"\b(?:customer|client|user|lead)s?'? (?:database|list|data|records|info|information|details|emails?|table|"
    r"phone numbers?|numbers|addresses)\b",
    r"\bdatabase\b", r"\bcrm\b", r"\bsql\b|\bdrop table\b",
    r"\b(?:list|show|give|tell|send|output|print|read)(?: me)?\b.{0,40}\b(?:customers|clients|users|"
    r"phone numbers|emails|email addresses|other people|everyone|everybody|leads|appointments)\b",
    r"\b(?:everyone|everybody|anyone) (?:who|that|else)\b", r"\b(?:other|another) (?:customer|client|person|shopper)s?\b",
    r"\bsomeone else'?s\b", r"\b(?:last|previous|prior|other) (?:person|customer|guy|people|shopper|caller|chat)\b",
    r"\b(?:customer|person|guy|people|shopper) (?:before|ahead of) me\b",
    r"\b(?:who|whoever) (?:else )?(?:bought|called|asked|texted|chatted|booked|purchased)\b", r"\bwho else\b",
    r"\bthe (?:guy|lady|woman|man|person|people) (?:who|that)\b",
    r"\b(?:phone|number|address|email|appointment)s? (?:of|for) (?:(?:the|that|a) (?:guy|lady|man|woman|person|"
    r"customer|client|people)|another|someone|everyone|all)\b",
    r"\b(?:chat|conversation|message|text|call)s? (?:logs?|history|histories|transcripts?|records)\b",
    r"\b(?:all|every|the other) (?:conversations|chats|transcripts|chat logs)\b", r"\bconversaciones\b",
    r"\bas (?:an? |the )?(?:admin|administrator|sysadmin|developer|auditor)\b",
    r"\badmin (?:pw|password|access|account|rights|login|user)\b", r"\b(?:pw|passcode)\b",
    r"\b(?:olvida|ignora|olvide|ignore)\w* (?:tus|las|sus) (?:instrucciones|reglas)\b",
    r"\b(?:telefonos|datos|correos|numeros|direcciones) de (?:tus|sus|los|otros) clientes\b", r"\botros clientes\b",
    r"\bpull up\b.{0,30}\b(?:appointment|account|record|file|info|information|number)\b",
)
# A named person's records, read on the raw text: "John Smith's appointment", "Maria Gonzalez's phone".
SOMEONES_RECORD = re.compile(
    r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)?)(?:['\u2019]s|s['\u2019]) (?:\w+ ){0,2}(?:appointment|phone|number|address|email|info|"
    r"information|account|deal|order|record|file|details|payment|loan|trade|trade-in|appraisal|car|truck|"
    r"vehicle|visit|test drive)s?\b")
# Another named person's purchase or visit: "the car Jane Doe bought".
SOMEONE_DID = re.compile(r"\b([A-Z][a-z]+ [A-Z][a-z]+) (?:bought|purchased|booked|scheduled|ordered|financed|leased|"
                         r"traded|paid|put down|spent|owes|got approved)\b")
NOT_A_PERSON = frozenset({"Today", "Tomorrow", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                          "Saturday", "Sunday", "Tonight", "Yesterday", "Dealer", "Service", "Saturdays", "What",
                          "Where", "Who", "How", "That", "It", "There", "Here", "Let", "He", "She", "This", "Everyone",
                          "Anyone", "Someone", "Nobody", "Year", "Week", "Month", "Store", "Dealership", "Company"}
                         | {make for make in vehicles.MAKE_ALIASES.values()})

ASKED_FOR_PERSON = _cues(
    r"\b(?:real|actual|live|another) (?:person|human|people|someone)\b", r"\bhuman\b", r"\bagent\b",
    r"\brepresentatives?\b",
    r"\b(?:talk|speak|chat|get in touch)(?: directly)? (?:to|with) (?:a |an |the |some |your |someone from )?"
    r"(?:someone|somebody|person|human|manager|general manager|salesperson|salesman|sales|representative|"
    r"agent|gm|owner|people|guy|staff|dealer|anyone|one of)",
    r"\b(?:someone|somebody|salesperson|salesman|sales person|sales rep|representative|manager|person|anyone|"
    r"a rep) (?:to )?(?:call|text|contact|email|reach out|phone|get back)",
    r"\b(?:call|phone|ring|telephone) me\b",
    r"\b(?:someone|somebody) (?:be able to|available to) (?:call|phone|telephone|text|contact)\b", r"\bgive me a (?:call|ring)\b", r"\bmanager\b", r"\bsupervisor\b",
    r"\b(?:contact|reach) me\b", r"\bget me (?:someone|somebody|a person|a human|a manager|a real|the manager)\b",
    r"\b(?:pass|give|send|forward) my (?:info|information|number|details|contact\w*) (?:to|on to|along)\b",
    r"\bsalesm[ae]n\b", r"\bcall ?-?back\b", r"\b(?:service|sales|finance) (?:advisor|writer|consultant)\b", r"\bmember of your\b", r"\b(?:sales|service|finance) team\b",
    r"\b(?:talk|speak) (?:to|with) (?:whoever|the person who|the guy who|someone who|someone in)\b",
    r"\bwho (?:do|can|should) i (?:talk|speak|call|contact|ask)\b", r"\bllamar(?:me)?\b", r"\bme llaman\b", r"\bpueden llamar\b",
    r"\bare you (?:a )?(?:bot|robot|real|human|machine|ai)\b", r"\byou an? (?:bot|robot)\b", r"\bnot a (?:bot|robot)\b",
    r"\bhablar con (?:alguien|una persona|un humano|un agente|el gerente|un vendedor|una vendedora)\b",
    r"\buna persona\b", r"\bllam(?:e|a)me\b", r"\bun vendedor\b",
    r"\b(?:one|a single|the same) person (?:to )?(?:handle|help|deal|work)\b", r"\bwho(?:'s| is) in charge\b",
    r"\bis there (?:anyone|anybody|someone|somebody) (?:there|i can|who)\b",
    r"\b(?:someone|somebody) from (?:sales|service|finance|your team|the (?:sales|service|finance) (?:team|department)) "
    r"(?:to |could |can )?(?:call|text|contact|email|reach out)", r"\bel encargado\b",
    r"\b(?:number|phone|line|extension) (?:for|of|to) (?:your|the) (?:parts|service|sales|finance|body shop)\b",
    r"\bquien me (?:puede|pueda) (?:ayudar|atender)\b", r"\bgerente\b",
)
COMPLAINT = _cues(
    r"\b(?:ridiculous|unacceptable|terrible|horrible|awful|worst|furious|angry|pissed|upset|disappointed|"
    r"disappointing|frustrated|frustrating|unprofessional|rude|disgusted|disgusting|pathetic|incompetent|"
    r"outrageous|appalling|fed up)\b",
    r"\b(?:lied|liars?|lying|scam|scammed|ripped off|rip off|cheated)\b",
    r"\bwaited\b", r"\bbeen waiting\b", r"\btaking forever\b", r"\bforever\b",
    r"\b(?:nobody|no one|noone|never)\b.{0,25}\b(?:called|calls|returned|answered|answers|got back|gets back|"
    r"responded|responds|replied|heard back|showed up|tell|told|help|helped|explain|explained)\b",
    r"\bruined\b", r"\bmoney back\b", r"\b(?:want|demand|give me|get) (?:a |my )?refund\b",
    r"\blemon\b", r"\b(?:won't|didn't|did not|will not|never) (?:fix|fixed|repair)\b", r"\bstill (?:broken|not fixed)\b",
    r"\bbeen\b.{0,25}\bwaiting\b", r"\bgetting nowhere\b", r"\bgoing in circles\b", r"\buseless\b",
    r"\bpromised\b", r"\bnever got (?:one|a call|a response|an answer|back|it)\b", r"\bwaiting in the (?:lobby|showroom|waiting room)\b", r"\bcomplain(?:t|ts|ing)?\b", r"\blawyer\b", r"\bsue\b",
    r"\bbbb\b", r"\bnot happy\b", r"\bunhappy\b", r"\bmistreated\b", r"\bwas treated\b", r"\bbad experience\b",
    r"\bqueja\b", r"\bpesimo\b", r"\bterrible servicio\b", r"\bmal servicio\b", r"\bmuy mal\b", r"\bnadie me\b",
    r"\btrash\b", r"\bheard nothing\b", r"\bvoicemails\b", r"\bhaven't heard (?:back|anything)\b", r"\bsupposed to be (?:ready|done|fixed|finished)\b",
    r"\b(?:no one|nobody|noone) (?:has |have )?(?:updated|kept) me\b", r"\b(?:you|they|he|she) (?:still |even )?forgot\b", r"\b(?:third|3rd|fourth|4th|fifth|5th) time i\b",
    r"\bnever agreed\b", r"\b(?:didn't|did not) agree to\b", r"\bwithout my (?:permission|consent|ok)\b", r"\bcharged (?:me )?(?:another|more|extra|a different|twice)\b", r"\bovercharg\w*",
    r"\bexpect (?:this|it|that) to be (?:corrected|fixed|resolved|made right)\b", r"\bme enga\w*", r"\bestafa\w*", r"\bme robaron\b", r"\bsame (?:problem|issue|noise)\b", r"\bdone being\b", r"\bresponsibility\b",
    r"\b(?:scratched|dented|damaged|broke) my\b",
)
NEGOTIATION = _cues(
    r"\b(?:will|would|could|can|do) (?:you|you all|you guys) (?:take|do|accept|go|sell it for|let it go for)"
    r"(?: it for| for)? \$?\d",
    r"\b(?:best|lowest|bottom) (?:price|dollar|line|number|deal|offer|otd|out ?-?the ?-?door)\b", r"\bcash price\b",
    r"\byour final (?:price|number|offer)\b", r"\brock ?-?bottom\b",
    # A number out the door is an offer ("34,500 out the door", "to 28 otd"); the question alone is a price question.
    r"\$?\d[\d,.]*k?(?: (?:dollars|bucks|grand|mil))? (?:otd|out ?-?the ?-?door)\b", r"\b(?:otd|out ?-?the ?-?door) (?:for|at|of) \$?\d",
    r"\bthrow (?:in|it in|them in)\b", r"\binvoice\b", r"\bi (?:will|would|can) pay \$?\d", r"\bi'll pay \$?\d", r"\bi would sign\b", r"\bat \$?\d+k? i would\b", r"\blowest you\b",
    r"\bknock\b.{0,25}\boff\b", r"(?<!military )(?<!student )(?<!college )(?<!veteran )(?<!senior )(?<!employee )(?<!loyalty )"
    r"(?<!responder )\bdiscounts?\b", r"\bprice match\b",
    r"\bmatch (?:it|the|a|their|this|that|his|her)\b", r"\bdo (?:any |a little |a bit |something )?better\b", r"\bnegotia\w*", r"\bwiggle room\b",
    r"\bflexib\w*", r"\bmeet (?:me )?(?:in the middle|halfway)\b", r"\bcome down\b", r"\bquoted me\b",
    r"\bknock it down\b", r"\b(?:ultimo|mejor) precio\b", r"\bdescuento\b", r"\brebaja\b",
    r"\bhow (?:far )?(?:low|down) (?:can|will|would|could) you\b", r"\bbajar(?:le|me|lo|la)?\b",
    # Another seller's lower price: "Riverside Honda has the same CR-V for 1,800 less", "carvana has it cheaper".
    r"\bsame [\w-]+(?: [\w-]+)? for \$?[\d,.]+k? less\b",
    r"\b(?:has|have|had|sells?|selling|lists?|listed|got) (?:it|this|that|the same|this exact|the exact|one)\b.{0,50}"
    r"\b(?:cheaper|for less)\b", r"\bany room on\b", r"\bbest you can do\b",
    r"\bleast (?:you|you would|you will)\b", r"\bmake (?:a|me a|us a) deal\b", r"\bwork (?:out )?a deal\b",
    r"\bi am thinking \$?\d", r"\bprice (?:is )?firm\b", r"\bfirm (?:on (?:the )?)?price\b", r"\bno haggle\b", r"\bbeat (?:it|that|the|their|this|his|her)\b",
    r"\b(?:another|other|different) dealer(?:ship)?s?\b", r"\b(?:grand|thousand|k|dollars|bucks) (?:less|cheaper)\b",
    r"\bget closer\b", r"\bcan you match\b", r"\b(?:another|other|different) (?:store|place|lot)\b", r"\bdealer across\b", r"\bme (?:lo|la) dejan?\b", r"\bdejan en\b",
    r"\bi (?:would|will) buy (?:it|the [\w-]+|one|this|that)(?: [\w-]+)?(?: today| tonight| now)? (?:for|at) \$?\d",
    r"\b\d+k? flat\b", r"\bget it (?:down )?(?:to|under) \$?\d", r"\bwould you consider\b", r"\bsharpen\b",
    r"\bis that (?:your|the) best\b", r"\b(?:price|that|it|that's|it's|thats|its|sticker) (?:is |seems |looks )?too (?:high|steep|expensive|pricey|much)\b", r"\boverpriced\b",
    r"\bhook me up\b", r"\badd ?-?ons?\b", r"\bat sticker\b", r"\bif the numbers work\b",
    r"\bnumbers (?:work|make sense)\b", r"\bbetter (?:deal|price|offer|number)\b", r"\bcheaper (?:elsewhere|somewhere|down the road)\b",
    r"\bi was thinking (?:more )?(?:like|around) \$?\d", r"\bif you can do \$?\d",
    r"\bmeet me at \$?\d", r"\bany chance (?:you|you'd|you would|you'll) (?:take|do|go|come)\b", r"\blowball\w*", r"\bcounter ?-?offer\b", r"\bhaggl\w*", r"\bmarkup\b",
    r"\bmarket adjustment\b", r"\b(?:below|under) (?:sticker|msrp|invoice)\b", r"\bover (?:sticker|msrp)\b",
    r"\bdealer add ?-?ons?\b", r"\bmy offer\b", r"\bi (?:would|will|can) offer\b", r"\bcash deal\b",
)
TEST_DRIVE = _cues(
    r"\btest ?-?driv\w*", r"\btestdriv\w*", r"\bcome drive\b", r"(?<!nervous )(?<!afraid )(?<!scared )(?<!unsafe )\bto drive\b",
    r"\band drive (?:it|her|him|them|one)\b", r"\bpull up\b.{0,25}\bdrive (?:it|her|him|one)\b", r"\b(?:try|test) (?:it|her|him|them) out\b",
    r"\bsit in (?:it|one|the)\b",
    r"\b(?:i|we|me) (?:come )?(?:go )?drive (?:it|the|one|a|an|that|this|them)\b(?! home)",
    r"\bpulled (?:up|around) (?:front|out front|and ready)\b", r"\bready (?:for me )?when i (?:get|arrive|come)\b",
    r"\btake (?:it|her|him|them|one|the [\w-]+|a [\w-]+|that [\w-]+|this [\w-]+) (?:out )?for a (?:spin|drive|ride)\b",
    r"\bfor a (?:spin|test)\b", r"\btake (?:the|a|that) [\w-]+ out\b",
    r"\b(?:see|look at|check out|sit in) (?:it|the [\w-]+|one|them|that one|this one)? ?in person\b",
    r"\bcome (?:in )?(?:and )?(?:see|look at|check out|sit in)\b",
    r"\b(?:come|stop|swing) (?:by|in|over)\b.{0,40}\b(?:look at|see|check out|drive)\b",
    r"\b(?:someone|somebody) (?:to |could |can )?show me\b", r"(?:^|[.!?] )drive (?:the|a|an|it|that|this)\b", r"\bprueba de manejo\b", r"\bmanejarl[oa]\b",
    r"\bprobarl[oa]\b", r"\b(?:ir|pasar|venir) a ver(?:la|lo|las|los)?\b", r"\bprobar (?:el|la)\b", r"\b(?:quiero|queremos|quisiera|puedo|podemos) (?:ir a )?ver (?:la|el|los|las)\b", r"\bmanejar (?:el|la)\b",
)
SERVICE = _cues(
    r"\boil change", r"\bcambio de aceite\b", r"\baceite\b", r"\bbrakes?\b", r"(?<!nitrogen )\btires?\b", r"\brotation\b",
    r"\balignment\b", r"\bcheck engine\b", r"\b(?:engine|warning|dash|tire pressure|oil|battery|abs|brake|service) light\b",
    r"\bwipers?\b", r"\bwindshield\b", r"\brecalls?\b",
    r"\bmaintenance\b", r"\bmantenimiento\b", r"\binspection\b", r"\binspeccion\b", r"\bbattery\b",
    r"\bbateria\b", r"\btransmission (?:problem|issue|slip|repair|fluid|service|noise|leak|is|won't|makes)\w*",
    r"\brepairs?\b", r"\bshak(?:e|es|ing|y)\b", r"\bvibrat\w*", r"\bsteering\b", r"\bpulls to\b", r"\bsmell\w*",
    r"\bsmok(?:e|ing)\b", r"\boverheat\w*", r"(?<![\dk] )\bflat\b", r"\bstall\w*", r"\brattl\w*", r"\bsqueak\w*",
    r"\bclunk\w*", r"\b(?:car|truck|vehicle|van|suv) (?:be )?ready\b", r"\bready (?:yet|for pick ?up)\b",
    r"\bro\s*#?\s*\d", r"\brepair order\b", r"\bkey ?fobs?\b", r"\bfobs?\b", r"\bspare key\b", r"\bkey (?:replacement|programming)\b", r"\bllantas?\b", r"\bfrenos?\b", r"\bno arranca\b", r"\bmotor\b", r"\breparacion\b", r"\bfix\b", r"\bnoise\b",
    r"\bleak(?:ing|s)?\b", r"\bwon't start\b", r"\bdoesn't start\b", r"\btow\b(?! (?:package|hitch|capacity|rating|mirrors))", r"\bgrinding\b",
    r"(?<!how long is the )\bwarranty\b(?! on (?:it|the|a|an|this|that|used|new|certified|cpo)\b)", r"\bdiagnos\w*", r"\bbring (?:it|her|him|my [\w-]+|the [\w-]+|the car|in my [\w-]+) in\b",
    r"\bdrop (?:it|my [\w-]+|off my [\w-]+) off\b", r"\bmy car (?:is|keeps|has)\b(?! (?:paid off|worth|upside))",
    r"(?<!horario de )(?<!horarios de )\bservic(?:e|ed|ing|io)\b(?!\s+(?:department\s+|dept\s+|center\s+|drive\s+|lane\s+)?(?:hours?|open|opens|"
    r"close|closes|closing|entrance|is open)\b)",
    r"\bcita\b(?!.{0,20}prueba)", r"\b(?:ac|a/c|air conditioning|heater|heat)\b(?! pump)", r"\boil life\b", r"\bin the shop\b", r"\bloaner\b", r"\bhead gasket\b", r"\bcompressor\b",
    r"\bwon't (?:go into|shift|crank|lock|unlock)\b", r"\bdefrost\w*", r"\bfog(?:s|gy)? up\b", r"\bcheck why\b",
    r"\b(?:gas|fuel) mileage (?:dropped|went down|is bad|got worse)\b",
    r"\b(?:wipers?|heater|radio|screen|camera|sensors?|blinkers?|headlights?|taillights?|horn|windows?|locks?) "
    r"(?:isn't|is not|aren't|are not|stopped|not|doesn't|don't|won't) work\w*", r"\bblowing\b",
    r"\blook at (?:it|my|her|him)\b", r"\bruido\b",
    r"\b(?:ticking|knocking|clicking|squealing|squealin|whining|humming|thumping|hissing|popping|grinding)\b",
    r"\bmakes? (?:a |an |this |that |some )?(?:\w+ )?(?:thump|knock|tick|click|squeal|whine|hum|hiss|pop|grind|clunk|"
    r"rattle|noise|sound)s?\b",
    r"\bmaking (?:a |an |this |that |some |the same )?(?:\w+ )?(?:sound|noise)s?\b",
    r"\bbody (?:work|shop|damage)\b", r"\bbumper\b", r"\bfender\b", r"\bdent(?:s|ed)?\b", r"\bcollision\b",
    r"\bhail\b", r"\bairbags?\b", r"\bluz del motor\b", r"\blosing air\b",
    r"\blights? (?:came|comes|come|is|are|keeps?|went|stays?|just came) (?:back )?on\b", r"\btpms\b", r"\bdashboard\b",
    r"\btyres?\b", r"\bnail in\b", r"\bpothole\b", r"\bpuddle\b", r"\bdrip\w*", r"\bcoolant\b", r"\bantifreeze\b",
    r"\bwon't turn over\b", r"\bsputter\w*", r"\bmisfir\w*", r"\bhesitat\w*", r"\bbrake pads?\b", r"\brotors?\b",
    r"\bstruts?\b", r"\bshocks\b", r"\bsuspension\b", r"\bexhaust\b", r"\bmuffler\b", r"\bcatalytic\b",
    r"\bemissions?\b", r"\bsmog\b", r"\btune ?-?up\b", r"\bspark plugs?\b", r"\btiming belt\b", r"\bserpentine\b",
    r"\bjump ?start\b", r"\bdead battery\b",
    r"\bse (?:descompuso|prendio|prende|apago|calienta)\b", r"\bfalla\b", r"\bponchad[ao]\b", r"\bafinacion\b",
    r"\brevis(?:ar|ion|en)\b", r"\bhace (?:un )?ruido\b", r"\bfoco\b", r"\btestigo\b",
)
HOURS = _cues(
    r"(?<!duration )\bhours?\b(?! ago)", r"\bopen(?:s|ed)?\b(?! (?:to|for) (?:offers|negotiation))",
    r"\bclos(?:e|es|ed|ing)\b(?! (?:the )?deal| to\b)", r"\bwhat time\b", r"\bhow late\b", r"\blatest\b",
    r"\b(?:till|until) when\b", r"\bhorarios?\b", r"\babiertos?\b", r"\babren\b", r"\bcierran\b",
    r"\ba que hora\b", r"\bhasta que horas?\b", r"\batienden\b", r"\bhow early\b", r"\bearliest (?:you|i can|time)\b", r"\bwhat days\b",
)
LOCATION = _cues(
    r"\bwhere\b(?! (?:do|can|should) i (?:sign|pay|send|upload))", r"(?<!email )\baddress\b", r"\bdirections?\b",
    r"\blocated\b", r"\blocation\b", r"\bhow (?:do|can) (?:i|we) get (?:to|there)\b", r"\bhow to get (?:to|there)\b", r"\bhow (?:far|close)\b",
    r"\bwhich exit\b", r"\bnear(?:by| me| you)?\b", r"\bgps\b", r"\bmap\b", r"\bdonde\b", r"\bdireccion\b",
    r"\bfind (?:you|your|the dealership|the store|the place)\b",
    r"\b(?:next to|across from)\b", r"\b(?:closest|nearest) (?:dealership|dealer|store|location|one|lot|branch)\b",
    r"\bclose to (?:you|me|downtown)\b", r"\b(?:what|which) (?:city|town|state|area|street|part of town)\b",
    r"\bubica\w*", r"\bcomo llego\b", r"\baddy\b", r"\bby the (?:mall|highway|airport|interstate|freeway|exit|outlets)\b", r"\bthe one (?:by|on|near) the\b", r"\bzip ?code\b", r"\bcross ?streets?\b", r"\bwhich side of\b", r"\b(?:en )?que calle\b", r"\bdonde queda\b", r"\bparking\b", r"\b(?:dealership|store|showroom) (?:on|at|near|by)\b",
)
INVENTORY = _cues(
    r"\bin stock\b", r"\bavailable\b", r"\bstill (?:there|available|for sale|on the lot|here|around|have)\b",
    r"\bsold\b", r"\bon the lot\b", r"\blooking for\b", r"\bin the market for\b", r"\binterested in (?:a|an|the)\b",
    r"\binventory\b", r"\bstock\b", r"\bstk\b", r"\bvin\b", r"\bin your lot\b",
    r"\bwhat (?:do )?(?:you|you all|you guys) (?:have|got)\b", r"\bbusco\b", r"\bbuscando\b", r"\bdisponible",
    r"\bshopping for\b", r"\bwhat (?:can|could) you show me\b", r"\bneeds? something\b", r"\bcarry\b",
    r"\b(?:more )?(?:pics|pictures|photos|video)\b", r"\bcarfax\b", r"\bhistory report\b", r"\bis (?:it|the [\w-]+) gone\b",
    r"\bhow many miles (?:on|does)\b", r"\bcomes? with\b", r"\b(?:drive|take) (?:one|it|her|him) home\b", r"\b(?:any|none|some) (?:\w+ ){0,3}left\b",
    r"\b(?:do|does) (?:you|you all|you guys) have (?:anything|something)\b(?! (?:on|about|for) (?:financ|servic|trad))", r"\bdoes (?:it|the [\w-]+) have\b",
)
# "I'd like to see the Sienna": a visit to see a vehicle, only when one is named.
TEST_DRIVE_WITH_VEHICLE = _cues(
    r"\b(?:like|want|love|wanna|hoping|hope|plan|planning) to (?:come )?(?:see|look at|check out|drive|sit in|test) "
    r"(?:the|a|an|that|this|it|one|them)\b",
)
# "Do you have / got any / tienen": inventory only when a vehicle is named or nothing else is asked, so
# "tienen financiamiento?" and "do you have any openings" stay with what they ask about.
INVENTORY_WEAK = _cues(
    r"\b(?:do|does|did) (?:you|you all|you guys|they)(?: guys)? (?:have|got|carry|stock|sell)\b",
    r"\b(?:you|you all|you guys) (?:got|have) any\b", r"\bgot any\b", r"\bhave any\b", r"\btienen\b", r"\btiene\b",
    r"\bhay\b", r"\byou have\b", r"\bany\b", r"\bcheapest\b",
    # "need a car w 0 down": the ask is what follows, when something follows.
    r"\bneed a (?:car|truck|suv|minivan|van|vehicle|sedan)\b",
)
PRICE = _cues(
    r"\bhow much\b(?! (?:(?:would|will|can|could|do|did) (?:you|you all|you guys) (?:give|pay|offer|buy)|"
    r"(?:is|would|will) my|(?:of a )?down|money down|do i (?:need|have) (?:to put )?down|would i get for))",
    r"\bprices?\b", r"\bpricing\b", r"\bcosts?\b", r"\bmsrp\b", r"\bsticker\b", r"\basking\b", r"\bfees?\b",
    r"\bcuanto (?:cuesta|vale(?! mi)|cuestan|valen|es(?! lo minimo)|for|por)\b", r"\ba como (?:esta|estan|sale|salen|lo dan|la dan)\b", r"\bcuanto (?:me )?cobran\b", r"\ben cuanto\b", r"\bprecios?\b", r"\bhow expensive\b",
    r"\bdeals?\b", r"\brebates?\b", r"\botd\b", r"\bout ?-?the ?-?door\b", r"\bfinal price\b", r"\btotal (?:price|cost)\b",
    r"\bon top of (?:the )?(?:msrp|sticker|price|listed|list)\b", r"\b(?:with|including|plus) tax\w*", r"\btax(?:es)? (?:and|&|title)\b",
    r"\ben total\b", r"\bimpuestos\b",
    r"\b(?:military|student|college grad|graduate|veteran|senior|employee|loyalty|first responder) "
    r"(?:discount|rebate|program|pricing|incentive)s?\b", r"\bincentives?\b", r"\bspecials?\b", r"\bofertas?\b",
    r"\bwhat (?:does|do|is|are|would) .{0,30}\bgo(?:es|ing)? for\b",
)
TRADE_IN = _cues(
    r"\btrade ?-?ins?\b", r"\btrad(?:e|es|ed|ing)\b", r"\btradein\b", r"\bworth\b", r"\bgive (?:me )?(?:for|4) my\b",
    r"\b(?:would|will|could|can) you give me (?:for|4)\b",
    r"\bhow much (?:would|will|can|could|do) (?:you|you all|you guys) (?:give|pay|offer|buy)\b",
    r"\bsell(?:ing)? (?:you )?(?:my|his|her|our|their)\b", r"\bwhat (?:do|would|will) you (?:pay|give)\b", r"\b(?:swap\w*|exchang\w*|get rid of|unload) (?:out )?my\b", r"\bcash offer\b", r"\b(?:buy|purchase) (?:my|cars|used cars|your car)\b", r"\bapprais\w*",
    r"\bvalue (?:of|for) my\b", r"\b(?:estimate|quote|offer|number|price) (?:on|for) my\b",
    r"\bcuanto (?:me )?(?:dan|darian|pagan|ofrecen) por\b", r"\bmy [\w-]+ value\b", r"\btrade value\b", r"\bpayoff\b",
    r"\bowe (?:money |\$?\d+k? )?on (?:my|it)\b", r"\bvender (?:mi|el|la)\b", r"\bvendo mi\b", r"\bparte de pago\b", r"\bcuanto me (?:dan|darian|dará|daran)\b",
    r"\baceptan mi\b", r"\bcompran (?:carros|autos)\b", r"\bwhat would i get for\b",
    r"\bhow much (?:would|will|could|can|do) i get for\b", r"\bupside down\b", r"\bnegative equity\b",
    r"\bcambiar mi\b", r"\bcuanto vale mi\b", r"\b(?:carmax|carvana|vroom)\b", r"\boffered me \$?\d+k? for my\b", r"\ba cuenta\b", r"\bdar mi (?:carro|auto|camioneta|coche|troca)\b",
    r"\bkbb\b", r"\b(?:kelley )?blue book\b", r"\bequity\b", r"\bstill owe\b", r"\bowe (?:about |like |around )?\$?\d",
    r"\bsell (?:you )?(?:my|our|the) (?:car|truck|van|suv|vehicle|old)\b", r"\bvender(?:les)? (?:mi|el|la)\b",
)
FINANCING = _cues(
    r"\bfinanc\w*", r"\bcredit\b", r"\bloans?\b", r"\bapr\b", r"\binterest\b", r"\bleas(?:e|es|ed|ing)\b",
    r"\bmonthly\b", r"\bpayments?\b", r"\bdown payment\b", r"\b\d+k? down\b", r"\bpre ?-?approv\w*",
    r"\bapproved\b", r"\bco ?-?signers?\b", r"\bbuy here pay here\b", r"\bcredito\b", r"\brepo\b",
    r"\bbankruptcy\b", r"\binsurance\b", r"\bput (?:\$?\d+k? )?down\b", r"\bafford\b", r"\bfirst time buyers?\b", r"\bmensualidad\w*", r"\benganche\b", r"\bpagos?\b", r"\bmensual\w*", r"\brefinanc\w*",
    r"\bitin\b", r"(?<![\d.])0 ?%", r"\b(?:0|zero) percent\b", r"\bself ?-?employed\b", r"\bproof of income\b", r"\bpay ?stubs?\b", r"\bcredit union\b",
    r"\bpre ?-?qualif\w*", r"\bqualify\b", r"\bfico\b", r"\bcredit score\b", r"\bbuy ?-?out\b", r"\bresidual\b",
    r"\bmoney factor\b", r"\b(?:36|48|60|72|84) (?:months?|mo)\b", r"\baseguranza\b",
    r"\bfinanciamiento\b", r"\bsacar un (?:carro|auto|coche|vehiculo)\b", r"\blo minimo\b", r"\bfinanciar\b", r"\brates?\b(?! the)",
)
CUES: dict[str, re.Pattern[str]] = {
    "test_drive": TEST_DRIVE, "service_appointment": SERVICE, "hours": HOURS, "location": LOCATION,
    "inventory": INVENTORY, "price": PRICE, "trade_in": TRADE_IN, "financing": FINANCING,
}
# Another buyer's offer for the shopper's own car: "carmax offered me 9 for my mazda, can you beat it".
TRADE_OFFER = re.compile(r"\b(?:carmax|carvana|vroom)\b|\boffered me \$?\d+k? for my\b|\boffer (?:on|for) my\b")
# A question about a model's specifications in general, not about one on the lot: "the real world range on the EV6".
SPEC_QUESTION = re.compile(r"\bwhat(?: is|'s)? the (?:real world |real-world |actual |average )?(?:range|mpg|gas mileage|"
                           r"fuel economy|reliability|safety rating)\b")
# The fault of the car to be traded: "do you take trade ins with a check engine light on".
# A car's faults told to ask what it is worth ("my accord burns oil, what would you give me for it"): the trade is the
# ask unless a service visit is asked for too.
TRADE_ASK = _cues(
    r"\bworth\b", r"\bgive (?:me )?(?:for|4)\b", r"\bwhat (?:could|would|will|can|do) you (?:offer|give|pay)\b",
    r"\b(?:on|as an?|in) trade\b", r"\btrade ?-?in (?:process|value|offer|price)\b", r"\btrade (?:it|her|him|them) in\b",
    r"\ba cuenta\b", r"\bbuy (?:vehicles|cars|trucks) outright\b", r"\bsell (?:his|her|my|our|their)\b", r"\bas is\b",
)
SERVICE_ASK = _cues(
    r"\b(?:appointment|schedule|book)\b", r"\b(?:bring|drop) (?:it|her|him|my [\w-]+) (?:in|off)\b",
    r"\b(?:can|could) you (?:fix|look at|check|diagnose|repair)\b",
    r"\bneed (?:a |an |some |new )?(?:service|servicing|repairs?|oil change|maintenance|tires|brakes)\b",
    r"\b(?:service|oil change|repairs?|maintenance) (?:on|for) (?:my|our|the)\b",
)
# Something to tow or haul with is a vehicle to buy, not a tow truck to send.
TOWING_NEED = _cues(
    r"\b(?:can|could|able to|enough to|that will|capable of) (?:tow|pull|haul)\b", r"\btow(?:ing)? (?:capacity|rating|package)\b",
    r"\b(?:gooseneck|fifth ?-?wheel|5th wheel)\b",
    r"\b(?:tow|pull|haul)(?:ing)? (?:a|an|our|my|the) (?:[\d,]+ ?(?:lb|lbs|pound)s? )?(?:\w+ )?(?:boat|camper|trailer|rv|pontoon)\b",
    r"\bhaul(?:ing)? (?:horses|cattle|livestock)\b",
)
# "Is Derek in today?", "have Tom from finance text me": a named member of staff asked for, read on the raw text.
NAMED_STAFF = re.compile(
    r"\b(?:[Ii]s|[Ww]as) ([A-Z][a-z]+) (?:in|there|working|available|around)\b"
    r"|\b(?:work|deal|talk|speak) (?:again )?(?:with|to) ([A-Z][a-z]+)\b"
    r"|\b[Hh]ave ([A-Z][a-z]+)(?: from [\w ]{1,30}?)? (?:call|text|email|contact|reach out to) me\b"
    r"|\b[Bb]usco a ([A-Z][a-z]+)\b")
STAFF_PRONOUN = _cues(r"\bcan (?:he|she) (?:get back to|call|text|contact|reach) me\b",
                      r"\bhave (?:him|her) (?:call|text|email|contact)\b")
TRADE_FAULT = re.compile(r"\btrade ?-?ins? (?:with|that (?:has|have)) (?:a|an|the|some|bad|no)\b")
# Something left in a car ("I left my sunglasses in the Camry") is not a question about that car.
LEFT_BEHIND = re.compile(r"\b(?:left|forgot|lost|dropped) (?:my|our|a|the) [\w-]+(?: [\w-]+)? (?:in|inside)\b")
# Words that mean the message is about a visit to book, without the word "test drive".
APPOINTMENT = re.compile(r"\b(?:appointment|schedule|book)\b")

DEPARTMENT_SERVICE = re.compile(r"\bservic(?:e|io)\b|\bparts\b")
DEPARTMENT_SALES = re.compile(r"\bsales\b|\bshowroom\b|\bsalesperson\b|\bventas\b")
DURATION = re.compile(r"\b(?:\d+|an?|one|two|three|few|couple(?: of)?)\s+(?:hours?|minutes?|mins?|days?)\b")
TRADE_BEFORE = frozenset({"my", "mi", "have", "own", "trade", "trading", "tradein", "value", "worth", "got", "tengo",
                          "old", "current"})

NAME = re.compile(
    r"\b(?:[Mm]y name is|[Mm]y name's|[Nn]ame is|[Tt]his is|[Ii] am|[Ii]'m|[Ii]m|[Mm]e llamo|[Ss]oy|[Ii]t's)\s+"
    r"([A-Z][a-z'\u2019-]+(?:\s+[A-Z][a-z'\u2019-]+)?)")
NOT_A_NAME = frozenset({
    "Looking", "Interested", "Trying", "Here", "Not", "Just", "Calling", "Coming", "Sorry", "Still", "Really",
    "So", "Very", "The", "A", "An", "In", "On", "At", "Going", "Wondering", "Ready", "Good", "Fine", "Ok", "Okay",
    "Done", "Out", "Back", "Buying", "Selling", "Texting", "Writing", "Your", "My", "It", "That", "This",
    "Ridiculous", "Unacceptable", "Terrible", "Frustrated", "Disappointed", "Available", "Free", "Thinking",
    "Hoping", "Planning", "About", "From", "With", "Also", "And", "But", "Test", "Please", "Thanks", "Hola",
    "Cliente", "Interesado", "Interesada", "Buscando",
})
# In a message written all in lower case: "im kayla, ..." or "my name is jo".
NAME_LOWER = re.compile(r"(?:^|[\s,.!])(?:my name is|my name's|me llamo|(?:hi |hey |hello )?(?:i'm|im|this is|soy))\s+"
                        r"([a-z][a-z'-]{1,20})(?=\s*(?:[,.!]|$| here\b| from\b| and\b))")
NOT_A_NAME_LOWER = frozenset(w.lower() for w in NOT_A_NAME) | frozenset("""
confused sure fine late outside waiting new serious curious sorry ok done free busy working driving home there good
great well interested ready here back just not still also gonna going looking trying calling wondering tired
""".split())
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w/#])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\w/])")


@dataclass(frozen=True)
class Vehicle:
    year: int | None = None
    make: str | None = None
    model: str | None = None
    trim: str | None = None
    color: str | None = None
    condition: str | None = None  # "new" or "used"
    max_price: int | None = None  # whole dollars, "under 35k" → 35000
    stock_number: str | None = None
    vin: str | None = None


@dataclass(frozen=True)
class TradeIn:
    year: int | None = None
    make: str | None = None
    model: str | None = None
    mileage: int | None = None


@dataclass(frozen=True)
class Slots:
    vehicle: Vehicle = field(default_factory=Vehicle)
    trade_in: TradeIn = field(default_factory=TradeIn)
    when: Window | None = None
    name: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None
    department: str | None = None  # "sales" or "service"
    reason: str | None = None  # why a person is needed: complaint / negotiation / asked_for_person
    suspicious: bool = False

    def flat(self) -> dict[str, Any]:
        """The slots as one flat JSON-ready mapping, leaving out what was not said."""
        found: dict[str, Any] = {k: v for k, v in asdict(self.vehicle).items() if v is not None}
        found.update({f"trade_{k}": v for k, v in asdict(self.trade_in).items() if v is not None})
        if self.when is not None:
            found["date"] = self.when.start.date().isoformat()
            if self.when.has_time:
                found["time"] = self.when.start.strftime("%H:%M")
            if self.when.part_of_day:
                found["part_of_day"] = self.when.part_of_day
            found["window_start"] = self.when.start.isoformat()
            found["window_end"] = self.when.end.isoformat()
            if self.when.asap:
                found["asap"] = True
        for key in ("name", "phone", "email", "department", "reason"):
            if getattr(self, key) is not None:
                found[key] = getattr(self, key)
        if self.suspicious:
            found["suspicious"] = True
        return found


@dataclass(frozen=True)
class Understanding:
    intent: str
    slots: Slots
    confidence: float  # 0..1, how sure the rules are; the caller may hand off below its own threshold
    also: tuple[str, ...] = ()
    guessed: bool = False  # the intent is the learned layer's, the rules having found no cue

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as the assistant API answers it ({"intent", "slots", ...})."""
        return {"intent": self.intent, "also": list(self.also), "confidence": self.confidence,
                "slots": self.slots.flat()}


# The learned layer's guess is taken only above this share of its blended probability (naive Bayes beside the
# sentence-vector reader, assistant.learned), and where the rules found several cues it may put another of them
# first when that one holds at least ARBITRATION_MARGIN more of the probability than the rules' first. Both were
# chosen on each fresh batch's first sight replayed against the rules of its day (labelled/README.md): a plateau
# from 0.4 to 0.6 and from 0 to 0.2.
GUESS_THRESHOLD = 0.5
ARBITRATION_MARGIN = 0.1
# The rules' first cue is put in question only when its place is the rules' own and not the shopper's order of
# asking: a booking goes first by priority ("burns oil and the ac quit, what would you give me for it").
ARBITRATED = BOOKINGS
GUESS_MIN_WORDS = 3
GUESS_MAX_TIME_REPLY_WORDS = 5
SERVED = "dev"  # understand()'s default model: the learned layer trained on the dev set, built on first use


def understand(text: str, *, now: datetime, time_zone: str,
               known_models: Iterable[tuple[str, str]] = DEFAULT_MODELS,
               model: learned.Model | str | None = SERVED) -> Understanding:
    """The intent to act on first, the further intents asked, and the slots of one shopper message.

    `model` is the learned layer (assistant.learned) consulted where the rules find no cue or only a bare vehicle:
    by default the one trained on the dev set; None reads with the rules alone. The evaluation passes models
    trained on part of the labelled lines to cross-validate."""
    text = text if isinstance(text, str) else ""
    if is_opt_out(text):  # on the whole message, exactly as the texting pipeline reads it
        return Understanding("opt_out", Slots(), 0.99)
    raw = text[:2000]  # a longer message is read as its first 2000 characters
    normalised = normalise(raw)
    cue_text = DURATION.sub(" duration ", normalised)

    if SUSPICIOUS.search(cue_text) or _someones_record(raw):
        # Nothing else from the message is acted on: no slot that could steer a lookup is kept.
        return Understanding("other", Slots(suspicious=True), 0.9)

    known_models = tuple(known_models)
    slots = _slots(raw, normalised, now=now, time_zone=time_zone, known_models=known_models)
    positions = {intent: match.start() for intent, pattern in CUES.items() if (match := pattern.search(cue_text))}
    if "trade_in" in positions and "service_appointment" in positions and (
            TRADE_FAULT.search(cue_text) or TRADE_ASK.search(cue_text) and not SERVICE_ASK.search(cue_text)):
        del positions["service_appointment"]
    if towing := TOWING_NEED.search(cue_text):
        positions["inventory"] = min(positions.get("inventory", towing.start()), towing.start())
        if "service_appointment" in positions and not SERVICE.search(TOWING_NEED.sub(" ", cue_text)):
            del positions["service_appointment"]
    names_vehicle = bool(slots.vehicle.model or slots.vehicle.make or slots.vehicle.stock_number
                         or slots.vehicle.vin or slots.vehicle.max_price or slots.vehicle.condition)
    visit = TEST_DRIVE_WITH_VEHICLE.search(cue_text)
    if visit and names_vehicle and "test_drive" not in positions:
        positions["test_drive"] = visit.start()
    weak = INVENTORY_WEAK.search(cue_text)
    if (weak and "inventory" not in positions and not _asks_about_something_else(cue_text, weak.end())
            and (names_vehicle or _names_vehicle_noun(normalised))):
        positions["inventory"] = weak.start()
    if "test_drive" not in positions and "service_appointment" not in positions:
        booking = APPOINTMENT.search(cue_text)
        if booking and slots.vehicle.model and not slots.trade_in.model:
            positions["test_drive"] = booking.start()
        elif booking:
            positions["service_appointment"] = booking.start()
    implied = False
    if not positions and names_vehicle and not LEFT_BEHIND.search(cue_text) and not SPEC_QUESTION.search(cue_text):
        positions["inventory"] = 0
        implied = True

    reason = _reason(cue_text) or ("asked_for_person" if _named_staff(raw, cue_text, known_models) else None)
    ordered = [intent for intent in BOOKINGS if intent in positions]
    ordered += sorted((i for i in positions if i not in BOOKINGS), key=lambda i: (positions[i], INTENTS.index(i)))
    if len(ordered) > 1 and ordered[0] in ARBITRATED and not reason:
        ordered = _arbitrate(raw, ordered, model)
    if reason:
        ordered = ["human"] + ordered
    if "service_appointment" in ordered and slots.department is None:
        slots = replace(slots, department="service")
    if reason:
        slots = replace(slots, reason=reason)
    if not ordered or (implied and not reason):
        guessed = _guess(raw, slots, model, names_vehicle=names_vehicle)
        # "Do you have a website": the rules turned the inventory reading down (no vehicle named); a guess may not
        # bring it back.
        if guessed is None or guessed.intent == "inventory" and (implied or weak):
            return Understanding(ordered[0], slots, 0.6) if ordered else Understanding("other", slots, 0.5)
        if guessed.intent == "service_appointment" and slots.department is None:
            slots = replace(slots, department="service")
        if guessed.reason:
            slots = replace(slots, reason=guessed.reason)
        return Understanding(guessed.intent, slots, 0.6, guessed=True)
    confidence = 0.6 if implied else 0.9 if len(ordered) == 1 else 0.8
    return Understanding(ordered[0], slots, confidence, tuple(ordered[1:]))


def _guess(raw: str, slots: Slots, model: learned.Model | str | None, *, names_vehicle: bool) -> learned.Guess | None:
    """The learned layer's intent where the rules found none, when it is sure enough and not `other`.

    Not for a message of one or two words ("thanks!", "hola", "yes please"), one that gives a phone number or
    email, or a short one that names a time and no vehicle ("sure, tomorrow at 4 then"): cross-validation showed
    the guesses there were pleasantries and replies to the assistant's own question read as new asks."""
    words = len(raw.split())
    if model is None or slots.phone or slots.email or words < GUESS_MIN_WORDS:
        return None
    if slots.when is not None and not names_vehicle and words <= GUESS_MAX_TIME_REPLY_WORDS:
        return None
    guess = (learned.default_model() if isinstance(model, str) else model).guess(raw)
    return guess if guess.intent != "other" and guess.probability >= GUESS_THRESHOLD else None


def _arbitrate(raw: str, ordered: list[str], model: learned.Model | str | None) -> list[str]:
    """The rules' cues with the learned layer's choice first, when they found several, the first is a booking
    (ARBITRATED), and no person is asked for.

    "My old accord burns oil and the ac quit, what would you give me for it" has a repair cue and a trade-in cue;
    the rules' order (bookings first) reads it as service, the learned layer knows the question is the trade. The
    rest keep the rules' order."""
    if model is None:
        return ordered
    shares = (learned.default_model() if isinstance(model, str) else model).prefer(raw, ordered)
    best = max(ordered, key=lambda intent: (shares[intent], -ordered.index(intent)))
    if shares[best] < shares[ordered[0]] + ARBITRATION_MARGIN:
        return ordered
    return [best] + [intent for intent in ordered if intent != best]


def _asks_about_something_else(cue_text: str, after: int) -> bool:
    """"Do you have financing?": what follows "do you have" is another intent's cue word."""
    return any((match := pattern.search(cue_text, after, after + 30)) and match.start() - after <= 6
               for intent, pattern in CUES.items() if intent != "inventory")


def _reason(cue_text: str) -> str | None:
    for reason, pattern in zip(REASONS, (COMPLAINT, NEGOTIATION, ASKED_FOR_PERSON)):
        # "carmax offered me 9 for my mazda" is the shopper's trade, unless another seller is cheaper.
        if pattern.search(cue_text) and not (reason == "negotiation" and TRADE_OFFER.search(cue_text)
                                             and "cheaper" not in cue_text):
            return reason
    return None


def _named_staff(raw: str, cue_text: str, known_models: Iterable[tuple[str, str]]) -> bool:
    if STAFF_PRONOUN.search(cue_text):
        return True
    models = {model.lower() for _, model in known_models}
    return any(name not in NOT_A_PERSON and name.lower() not in NOT_A_NAME_LOWER and name.lower() not in models
               for match in NAMED_STAFF.finditer(raw) for name in match.groups() if name)


def _someones_record(raw: str) -> bool:
    return any(m.group(1).split()[0] not in NOT_A_PERSON
               for pattern in (SOMEONES_RECORD, SOMEONE_DID) for m in pattern.finditer(raw))


def _names_vehicle_noun(normalised: str) -> bool:
    return any(word in vehicles.VEHICLE_NOUNS - {"one", "ones"} for word in re.findall(r"[a-z0-9]+", normalised))


def _slots(raw: str, normalised: str, *, now: datetime, time_zone: str,
           known_models: tuple[tuple[str, str], ...]) -> Slots:
    cat = vehicles.catalogue(known_models)
    words = [m.group(0) for m in vehicles.tokens(normalised)]
    all_caps = raw.upper() == raw
    capitalised = {vehicles.compact(w) for w in re.findall(r"\b[A-Z][\w-]*", raw)}
    mentions = vehicles.find_mentions(words, capitalised, all_caps, cat)
    trade_cue = bool(TRADE_IN.search(normalised))

    shopping: list[vehicles.Mention] = []
    trading: list[vehicles.Mention] = []
    for mention in mentions:
        (trading if trade_cue and _is_trade(words, mention) else shopping).append(mention)

    vehicle = Vehicle(max_price=vehicles.find_max_price(normalised), stock_number=vehicles.find_stock_number(raw),
                      vin=vehicles.find_vin(raw))
    first = shopping[0] if shopping else None
    if first is not None and first.model is None:
        # "Riverside Honda has the same CR-V": a make named first (a store's name) and its model named after.
        first = next((m for m in shopping[1:] if m.model and m.make == first.make), first)
    if first is not None:
        vehicle = Vehicle(
            year=vehicles.find_year(words, first), make=first.make, model=first.model,
            trim=vehicles.find_trim(words, first.last) if first.model else None,
            color=vehicles.find_color(words, first), condition=vehicles.find_condition(words, first),
            max_price=vehicle.max_price, stock_number=vehicle.stock_number, vin=vehicle.vin)
    else:
        vehicle = Vehicle(color=_color_without_model(words, trading), condition=vehicles.find_condition(words, None),
                          max_price=vehicle.max_price, stock_number=vehicle.stock_number, vin=vehicle.vin)
    if vehicle.vin and vehicle.stock_number == vehicle.vin:
        vehicle = replace(vehicle, stock_number=None)

    trade = TradeIn()
    if trading:
        mention = trading[0]
        trade = TradeIn(year=vehicles.find_year(words, mention), make=mention.make, model=mention.model,
                        mileage=vehicles.find_mileage(normalised))
    elif trade_cue:
        trade = TradeIn(mileage=vehicles.find_mileage(normalised))

    department = None
    if DEPARTMENT_SERVICE.search(normalised):
        department = "service"
    elif DEPARTMENT_SALES.search(normalised):
        department = "sales"

    return Slots(vehicle=vehicle, trade_in=trade, when=window_in(normalised, now=now, time_zone=time_zone),
                 name=_name(raw, all_caps), phone=_phone(raw), email=_email(raw), department=department)


def _is_trade(words: list[str], mention: vehicles.Mention) -> bool:
    """The shopper's own car: "my 2015 civic", "I have a civic ... to trade", "corolla 150,000 miles"."""
    before = words[max(0, mention.first - 5):mention.first]
    after = words[mention.last + 1:mention.last + 6]
    return any(w in TRADE_BEFORE for w in before) or "miles" in after or "trade" in after


def _color_without_model(words: list[str], trading: list[vehicles.Mention]) -> str | None:
    if trading:
        return None
    if not any(w in vehicles.VEHICLE_NOUNS for w in words):
        return None
    return vehicles.find_color(words, None)


def _name(raw: str, all_caps: bool) -> str | None:
    if all_caps:
        return None
    if raw == raw.lower():
        match = NAME_LOWER.search(raw.replace("\u2019", "'"))
        if match and match.group(1) not in NOT_A_NAME_LOWER and match.group(1) not in VOCABULARY:
            return match.group(1).capitalize()
        return None
    for match in NAME.finditer(raw):
        parts = match.group(1).split()
        if parts[0] in NOT_A_NAME or parts[0].lower() in vehicles.MAKE_ALIASES:
            continue
        if len(parts) > 1 and (parts[1] in NOT_A_NAME or parts[1].lower() in vehicles.MAKE_ALIASES):
            parts = parts[:1]
        return " ".join(parts)
    return None


def _phone(raw: str) -> str | None:
    for match in PHONE.finditer(raw):
        try:
            return normalize_phone(match.group(0))
        except InvalidContact:
            continue
    return None


def _email(raw: str) -> str | None:
    for match in EMAIL.finditer(raw):
        try:
            return normalize_email(match.group(0).strip(".'"))
        except InvalidContact:
            continue
    return None
