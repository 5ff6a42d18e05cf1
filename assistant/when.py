"""When a shopper means: "tomorrow after 5", "Saturday morning", "next Tue 10am" → a window in the rooftop's time zone.

Pure: `now` is passed in and the rooftop's zone is named, so the same message always gives the same window.
Local times are built with zoneinfo on the calendar day (a day is midnight to the next midnight, 23 or 25 hours
on a DST change), and "in 2 hours" is counted in real elapsed time.

How a message is read (the decisions a booking relies on):
- A weekday ("Saturday", "next Tue", "el sábado") is the next such day. Today's own weekday is today only with
  a time still ahead ("Sunday at 2" on Sunday morning), otherwise next week ("Saturday" on a Saturday night);
  "this Saturday" is today, "next Saturday" a week on.
- A clock time without am/pm follows the part of day if one is named ("8 in the evening"); otherwise 1–7 is
  afternoon and 8–11 morning, as people book a dealership visit.
- "at 3" is a one-hour window from 3pm, "after 5" runs to the end of the day (or of the named part of day),
  "before noon" from 8:00 (or the named part of day), "between 2 and 4" as said.
- Parts of day: morning 8–12, afternoon 12–17, evening 17–21, night and "tonight" 17–24.
- "this weekend" is Saturday 00:00 to Monday 00:00 (from now if it has begun); "asap" is the next 24 hours.
- A time of day with no day named ("at 3pm") is today, or tomorrow if that time has passed.
- A window that has begun starts at `now`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from assistant.text import normalise

WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6,
}
MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
# (start hour, end hour) of each part of day; 24 is the next midnight.
PARTS = {"morning": (8, 12), "afternoon": (12, 17), "evening": (17, 21), "night": (17, 24)}
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "half an": 0.5,
                "half a": 0.5, "un": 1, "una": 1, "dos": 2, "tres": 3}

_WEEKDAY_NAMES = "|".join(WEEKDAYS)
_MONTH_NAMES = "|".join(MONTHS)

_GREETING = re.compile(r"\b(?:good (?:morning|afternoon|evening|night|day)|buenas (?:tardes|noches)|buenos dias|buen dia)\b")
_ASAP = re.compile(r"\b(?:asap|as soon as possible|right now|right away|cuanto antes|lo antes posible|"
                   r"lo mas pronto posible|ahora mismo)\b")
_DURATION = re.compile(r"\b(?:in|en|within)\s+(?:about\s+|like\s+)?(\d{1,3}|an|a|one|two|three|four|five|six|"
                       r"half an|half a|un|una|dos|tres)\s*(minutes?|mins?|hours?|days?|weeks?|minutos?|horas?|dias?|semanas?)\b")
_DAY_AFTER = re.compile(r"\b(?:day after tomorrow|pasado manana)\b")
_TOMORROW = re.compile(r"\btomorrow\b|(?<!\bla )(?<!\bpor )\bmanana\b")
_TODAY = re.compile(r"\b(?:today|tonight|hoy|this (?:morning|afternoon|evening)|later|esta (?:noche|tarde|manana))\b")
_WEEKDAY = re.compile(rf"\b(?:(next|this|coming|el proximo|este|proximo)\s+)?({_WEEKDAY_NAMES})s?\b")
_WEEKEND = re.compile(r"\b(?:(next|this|el proximo|este)\s+)?(?:weekend|fin de semana)\b")
_WEEK = re.compile(r"\b(next week|this week|la proxima semana|la otra semana|esta semana)\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+|de\s+)?({_MONTH_NAMES})\b")
_NUMERIC_DATE = re.compile(r"(?<![\d/$.,])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/%])")
_ORDINAL_DAY = re.compile(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b")
_PART = re.compile(r"\b(morning|afternoon|evening|night|tonight|first thing|after work|after school)\b|"
                   r"\b(?:en|por|de|a) la (manana|tarde|noche)\b|\besta (noche|tarde|manana)\b")
_NOON = re.compile(r"\b(?:(at|after|before|around|by|about|until|till)\s+)?(?:noon|mediodia|lunchtime|lunch time)\b")
_BETWEEN = re.compile(r"\b(?:between|from|entre)\s+(\d{1,2})(?::([0-5]\d))?\s*(am|pm)?\s+(?:and|to|-|y)\s+"
                      r"(\d{1,2})(?::([0-5]\d))?\s*(am|pm)?\b")
_CLOCK = re.compile(
    r"(?:\b(?P<q>at|after|before|around|by|about|until|till|@|a las|a la|despues de las|antes de las|"
    r"como a las|tipo|como a la)\s*)?"
    r"(?<![\d/$.,:#\w])(?P<h>\d{1,2})(?::(?P<m>[0-5]\d))?\s*(?P<ap>a\.?m\b\.?|p\.?m\b\.?)?"
    r"(?![\d/%:]|[.,]\d|\s*(?:k\b|mil\b|miles|mi\b|grand|hours?|minutes?|mins?|days?|weeks?|months?|years?|"
    r"doors?|rows?|people|dollars|seats?|cyl|horas|dias|x4))"
)
_AFTER = {"after", "despues de las"}
_BEFORE = {"before", "by", "until", "till", "antes de las"}


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    has_time: bool  # a clock time was given ("10am", "after 5", "in 2 hours"), not only a day or part of day
    part_of_day: str | None = None  # morning / afternoon / evening / night when named
    asap: bool = False
    # The clock time as written ("10:30 works"), kept when the window is clipped to now: at 10:45 that window
    # starts at 10:45, but the shopper named 10:30. None for "before ..." and ranges, which name no one time.
    clock: time | None = None


def parse_when(text: str, *, now: datetime, time_zone: str) -> Window | None:
    """The window a message names, or None when it names no time."""
    return window_in(normalise(text), now=now, time_zone=time_zone)


def window_in(normalised: str, *, now: datetime, time_zone: str) -> Window | None:
    """Like parse_when, for text already passed through assistant.text.normalise."""
    tz = ZoneInfo(time_zone)
    now = now.astimezone(tz) if now.tzinfo else now.replace(tzinfo=tz)
    text = _GREETING.sub(" ", normalised)

    if _ASAP.search(text):
        return Window(now, _later(now, timedelta(days=1)), has_time=False, asap=True)

    duration = _DURATION.search(text)
    if duration:
        amount = duration.group(1)
        count = float(amount) if amount.isdigit() else NUMBER_WORDS[amount]
        unit = duration.group(2)
        if unit.startswith(("min", "hour", "hora")):
            seconds = count * (60 if unit.startswith("min") else 3600)
            start = _later(now, timedelta(seconds=seconds))
            return Window(start, _later(start, timedelta(hours=1)), has_time=True)
        days = int(count) * (7 if unit.startswith(("week", "semana")) else 1)
        return _whole_days(now.date() + timedelta(days=days), 1, now, tz)

    part = _part_of_day(text)
    clock = _clock(text, part)
    day, days, bare_weekday_today = _day(text, now)

    if day is None and clock is None and part is None:
        return None
    if bare_weekday_today:
        if clock is not None or part is not None:
            window = _compose(now.date(), 1, clock, part, now, tz)
            if window.end > now:
                return window
        return _compose(now.date() + timedelta(days=7), 1, clock, part, now, tz)
    if day is None:
        day = now.date()
        window = _compose(day, days, clock, part, now, tz)
        if window.end <= now:
            window = _compose(day + timedelta(days=1), days, clock, part, now, tz)
        return window
    return _compose(day, days, clock, part, now, tz)


def _compose(day: date, days: int, clock: tuple[str, time, time | None] | None, part: str | None,
             now: datetime, tz: ZoneInfo) -> Window:
    if clock is None and part is None:
        return _whole_days(day, days, now, tz)
    day_start, day_end = _at(day, time(0), tz), _at(day + timedelta(days=1), time(0), tz)
    if part:
        first, last = PARTS[part]
        span_start = _at(day, time(first), tz)
        span_end = day_end if last == 24 else _at(day, time(last), tz)
    else:
        span_start, span_end = day_start, day_end
    if clock is None:
        return _clipped(span_start, span_end, now, has_time=False, part=part)
    qualifier, at, until = clock
    start = _at(day, at, tz)
    if until is not None:
        end = _at(day, until, tz)
    elif qualifier in _AFTER:
        end = span_end if span_end > start else day_end
    elif qualifier in _BEFORE:
        # "before noon": from the named part of day, else from the business morning (8:00) when that is earlier.
        opening = span_start if part else _at(day, time(8), tz)
        start, end = (opening if opening < start else day_start), start
    else:
        end = _later(start, timedelta(hours=1))
    named = at if until is None and qualifier not in _BEFORE else None
    return _clipped(start, end, now, has_time=True, part=part, clock=named)


def _whole_days(first: date, days: int, now: datetime, tz: ZoneInfo) -> Window:
    return _clipped(_at(first, time(0), tz), _at(first + timedelta(days=days), time(0), tz), now,
                    has_time=False, part=None)


def _clipped(start: datetime, end: datetime, now: datetime, *, has_time: bool, part: str | None,
             clock: time | None = None) -> Window:
    if start < now < end:
        start = now
    return Window(start, end, has_time=has_time, part_of_day=part, clock=clock)


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    # Through UTC and back: a wall time in the spring-forward gap moves to the real instant after it.
    return _local(datetime.combine(day, clock, tzinfo=tz).astimezone(timezone.utc), tz)


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def _later(moment: datetime, elapsed: timedelta) -> datetime:
    # Real elapsed time: aware arithmetic in one zone is wall-clock arithmetic, wrong across a DST change.
    return _local(moment.astimezone(timezone.utc) + elapsed, moment.tzinfo)  # type: ignore[arg-type]


def _part_of_day(text: str) -> str | None:
    match = _PART.search(text)
    if not match:
        return None
    word = match.group(1) or match.group(2) or match.group(3)
    return {
        "tonight": "night", "first thing": "morning", "after work": "evening", "after school": "afternoon",
        "manana": "morning", "tarde": "afternoon", "noche": "night",
    }.get(word, word)


def _clock(text: str, part: str | None) -> tuple[str, time, time | None] | None:
    """(qualifier, time, end time for "between") of the first clock time in the text."""
    between = _BETWEEN.search(text)
    if between:
        first = _hour(int(between.group(1)), between.group(3) or between.group(6), part)
        second = _hour(int(between.group(4)), between.group(6), part)
        if first is not None and second is not None:
            if second < first and not between.group(6):
                second = min(second + 12, 23)
            if second > first:
                return "between", time(first, int(between.group(2) or 0)), time(second, int(between.group(5) or 0))
    noon = _NOON.search(text)
    for match in _CLOCK.finditer(text):
        qualifier, meridiem, minutes = match.group("q"), match.group("ap"), match.group("m")
        if not (qualifier or meridiem or minutes):
            continue
        if noon and noon.start() < match.start():
            break
        hour = _hour(int(match.group("h")), (meridiem or "").replace(".", ""), part)
        if hour is None:
            continue
        return (qualifier or "at"), time(hour, int(minutes or 0)), None
    if noon:
        return (noon.group(1) or "at"), time(12), None
    return None


def _hour(hour: int, meridiem: str | None, part: str | None) -> int | None:
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        return hour % 12 + (12 if meridiem.startswith("p") else 0)
    if hour > 23:
        return None
    if hour >= 13 or hour == 0:
        return hour
    if part in ("afternoon", "evening", "night"):
        return hour % 12 + 12
    if part == "morning":
        return hour % 12
    return hour + 12 if 1 <= hour <= 7 else hour


def _day(text: str, now: datetime) -> tuple[date | None, int, bool]:
    """The first day meant, how many days the window spans (1, 2 for a weekend, 7 for a week), and whether it is
    today's weekday named bare ("Saturday" on a Saturday), which means today only for a time still ahead."""
    today = now.date()
    explicit = _explicit_date(text, today)
    if explicit:
        return explicit, 1, False
    if _DAY_AFTER.search(text):
        return today + timedelta(days=2), 1, False
    if _TOMORROW.search(text):
        return today + timedelta(days=1), 1, False
    if _TODAY.search(text):
        return today, 1, False
    weekday = _WEEKDAY.search(text)
    if weekday:
        ahead = (WEEKDAYS[weekday.group(2)] - today.weekday()) % 7
        if ahead == 0 and weekday.group(1) in ("next", "el proximo", "proximo"):
            ahead = 7
        return today + timedelta(days=ahead), 1, ahead == 0 and weekday.group(1) not in ("this", "este")
    weekend = _WEEKEND.search(text)
    if weekend:
        if today.weekday() >= 5:
            saturday = today - timedelta(days=today.weekday() - 5)
            if weekend.group(1) in ("next", "el proximo"):
                saturday += timedelta(days=7)
        else:
            saturday = today + timedelta(days=5 - today.weekday())
        return saturday, 2, False
    week = _WEEK.search(text)
    if week:
        monday = today - timedelta(days=today.weekday())
        if week.group(1) in ("this week", "esta semana"):
            return today, (monday + timedelta(days=7) - today).days, False
        return monday + timedelta(days=7), 7, False
    return None, 1, False


def _explicit_date(text: str, today: date) -> date | None:
    match = _MONTH_DAY.search(text)
    if match:
        return _future_date(today, MONTHS[match.group(1)], int(match.group(2)), match.group(3))
    match = _DAY_MONTH.search(text)
    if match:
        return _future_date(today, MONTHS[match.group(2)], int(match.group(1)), None)
    match = _NUMERIC_DATE.search(text)
    if match:
        return _future_date(today, int(match.group(1)), int(match.group(2)), match.group(3))
    match = _ORDINAL_DAY.search(text)
    if match:
        day = int(match.group(1))
        found = _future_date(today, today.month, day, str(today.year), allow_past=True)
        if found and found < today:
            following = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
            found = _future_date(today, following.month, day, str(following.year), allow_past=True)
        return found
    return None


def _future_date(today: date, month: int, day: int, year: str | None, *, allow_past: bool = False) -> date | None:
    """The date, in the given year or else the next time it comes round."""
    if year:
        number = int(year)
        number = number + 2000 if number < 100 else number
        try:
            return date(number, month, day)
        except ValueError:
            return None
    try:
        found = date(today.year, month, day)
    except ValueError:
        return None
    if found < today and not allow_past:
        try:
            found = date(today.year + 1, month, day)
        except ValueError:
            return None
    return found
