"""Addresses reduced to institutions ("Dept. of CS, Carnegie Mellon University, Pittsburgh" gives
"Carnegie Mellon University"), and the word lists that tell places from organisations."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from functools import lru_cache

from bot.arxiv.affiliations.tokens import _TEX_LEFTOVER
from bot.core.names import fold


def _word_list(text: str) -> frozenset[str]:
    return frozenset(item.strip() for item in text.split("|") if item.strip())


def _unique(institutions: Iterable[str]) -> tuple[str, ...]:
    """Each institution once; "MIT" and "Massachusetts Institute of Technology" are the same one."""
    seen: set[str] = set()
    unique: list[str] = []
    for institution in institutions:
        key = _institution_key(institution)
        if key and key not in seen and not any(_abbreviates(a, b) for b in unique for a in (institution, b)):
            seen.add(key)
            unique.append(institution)
    return tuple(unique)


_MINOR_WORDS = frozenset({"of", "the", "for", "and", "at", "in", "on", "de", "di", "du", "des", "la", "le"})


def _abbreviates(acronym: str, name: str) -> bool:
    """ "MIT" abbreviates "Massachusetts Institute of Technology": the initials of its main words."""
    if not re.fullmatch(r"[A-Z]{2,8}", acronym) or acronym == name:
        return False
    initials = "".join(word[0] for word in re.findall(r"[^\W\d_]+", name) if word.lower() not in _MINOR_WORDS)
    return initials.upper() == acronym


def _institution_key(institution: str) -> str:
    return re.sub(r"^the", "", re.sub(r"[\W_]+", "", fold(institution)))


class _Kind(Enum):
    """What one comma-separated part of an address is."""

    NOTE = "note"  # not an institution: equal contribution, internship, funding, an e-mail, a bare number
    DEPARTMENT = "department"  # never an institution on its own
    SUBUNIT = "subunit"  # "Institute of X", "Lab for Y"
    ORGANISATION = "organisation"  # a university, a company, an academy
    INSTITUTE = "institute"  # any other institute, lab or centre
    LOCATION = "location"  # city, state, postcode, country, street
    UNKNOWN = "unknown"


_AFFILIATION_KINDS = frozenset(
    {_Kind.DEPARTMENT, _Kind.SUBUNIT, _Kind.ORGANISATION, _Kind.INSTITUTE, _Kind.LOCATION}
)
_INSTITUTION_KINDS = frozenset({_Kind.SUBUNIT, _Kind.ORGANISATION, _Kind.INSTITUTE})
_EMAIL = re.compile(r"(?:\{[^{}]*\}|\([^()]*\)|(?<![\w.+\-])[\w.+\-]++)\s*@\s*[\w\-]++(?:\.[\w\-]++)+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_ORCID = re.compile(r"\b\d{4}-\d{4}-\d{4}-\d{3}[\dX]\b")
_LABEL = re.compile(
    r"^(?:also\s+(?:affiliated\s+)?(?:with|at)|affiliations?|(?:current|present|permanent)?\s*address|and|&)\s*[:\-]?\s+",
    re.IGNORECASE,
)
# "(IEEC)", "(SOKENDAI)", "(Lab-CCAM)": one word with two capitals or more, in parentheses after a name.
_ACRONYM_IN_PARENTHESES = re.compile(r"\s*\((?=[^()\s]*[A-Z][^()\s]*[A-Z])[A-Za-z][\w&.\-]{1,11}\)")
_NOTE = re.compile(
    r"^(?:affiliations?|address(?:es)?|institutions?)$|equal(?:ly)?\s+contribut|contributed\s+equally|corresponding|correspondence|"
    r"work\s+(?:was\s+)?(?:done|performed|conducted|carried)|internship|\bintern\b|\bvisiting\b|"
    r"project\s+lead|co-?first|first\s+authors?|these\s+authors|senior\s+author|\bauthors?\b|"
    r"supported\s+(?:by|in\s+part)|\bfunded\b|\bgrants?\b|\bnow\s+(?:at|with)\b|preprint|under\s+review|"
    r"accepted\s+(?:at|to|by|in)|proceedings|copyright|technical\s+report|\bdraft\b|\bworkshop\b|"
    r"\bfellow(?:ship)?s?\b|\bscholar(?:ship)?s?\b|"
    r"\bconference\b|\bsubmitted\b|\bcode\b|github|homepage|website|project\s+page|e-?mail|\bcontact\b|orcid",
    re.IGNORECASE,
)
_DEPARTMENT = re.compile(
    r"^(?:the\s+)?(?:(?:joint|graduate)\s+)?(?:d[eé]part(?:e|a)?ment|dipartimento|dept\b\.?|dep\.|school\s+of|"
    r"facult|fakult|fachbereich|escuela\s+de|college\s+of|division\b|chair\s+(?:of|for)|program(?:me)?\s+(?:in|of)|"
    r"section\s+of|unit\s+of)|"
    r"\b(?:department|dept\.?|group|team)$",
    re.IGNORECASE,
)
_SUBUNIT = re.compile(
    r"^(?:the\s+)?(?:(?:state|national|provincial|joint|ministry\s+of\s+education)\s+)*(?:key\s+)?(?:research\s+)?"
    r"(?:institute|institut|instituto|istituto|laborator(?:y|ies)|lab|cent(?:er|re)|centro)\s+(?:of|for|on|de|di|für)\b",
    re.IGNORECASE,
)
_KNOWN_ORGANISATION = re.compile(
    r"\b(?:Google|DeepMind|Microsoft|Meta|Facebook|Amazon|AWS|Apple|NVIDIA|Nvidia|IBM|Intel|AMD|Qualcomm|Adobe|"
    r"Salesforce|OpenAI|Anthropic|Alibaba|Tencent|Baidu|ByteDance|Bytedance|Huawei|Samsung|Sony|Xiaomi|Meituan|"
    r"Kuaishou|JD\.com|Ant\s+Group|NetEase|SenseTime|Megvii|iFLYTEK|iFlytek|Pinterest|Netflix|Spotify|Uber|LinkedIn|"
    r"Snap|Yandex|Naver|NAVER|Kakao|Cisco|Oracle|Siemens|Bosch|Toyota|Hitachi|Fujitsu|Nokia|Ericsson|Philips|"
    r"Bloomberg|Criteo|Zalando|Yahoo|eBay|Walmart|Tesla|Waymo|Databricks|Hugging\s*Face|Mistral\s+AI|Cohere|xAI|"
    r"DeepSeek|Zhipu\s+AI|Moonshot\s+AI|MiniMax|Jane\s+Street|Two\s+Sigma|Allen\s+Institute|AI2|Inria|INRIA|CNRS|"
    r"Fraunhofer|Max\s+Planck|RIKEN|NTT|KAIST|POSTECH|MIT|CMU|UCLA|UCSD|UIUC|NYU|EPFL|ETH|KTH|NUS|NTU|HKUST|CUHK|"
    r"SJTU|USTC|Mila|Vector\s+Institute|DFKI|CSIRO|A\*STAR|NASA|NIH|NIST|Shanghai\s+AI\s+Lab(?:oratory)?|"
    r"Shanghai\s+Artificial\s+Intelligence\s+Laboratory|Zhejiang\s+Lab|Peng\s+Cheng\s+Lab(?:oratory)?|BAAI|"
    r"Preferred\s+Networks)\b"
)
_ORGANISATION = re.compile(
    r"un(?:versit|iveristy|iverstiy|ivesity)|"  # "Wageningen Unversity": the word is misspelt on real pages
    r"universi|uniwersytet|univerzit|üniversite|\buniv\b|\bcollege\b|\bacadem(?:y|ia|ie)\b|polytechn|politecnico|polit[eé]cnic|\b[eé]cole\b|"
    r"hochschule|institute\s+of\s+technology|\binc\b|\bltd\b|\blimited\b|\bllc\b|\bgmbh\b|\bcorp\b|corporation|"
    r"\bcompany\b|\btechnologies\b|\bhospital\b|medical\s+(?:center|centre|school)|national\s+laborator|"
    r"\blabs\b|\blaboratories\b|^\S.*\sresearch\b|\bobservato(?:ry|ries|ire|rio|rium)\b",
    re.IGNORECASE,
)
_ORGANISATION_AI = re.compile(r"\sAI$")
_LEGAL_FORM = (
    r"(?:Co\.?,?\s*)?"
    r"(?:Inc|Ltd|LLC|GmbH|AG|Corp|Corporation|Limited|S\.A|SAS|B\.V|N\.V|Oy|AB|S\.p\.A|Pte|Pty)\.?"
)
_LEGAL_FORM_ONLY = re.compile(rf"^{_LEGAL_FORM}$")
_TRAILING_LEGAL_FORM = re.compile(rf"(?:,?\s+{_LEGAL_FORM})+$")
_INSTITUTE = re.compile(
    r"institut|istituto|laborat[oó]r|\blab\b|\bcent(?:er|re)s?\b|centro|zentrum|^\S.*\sschool\s+of\b|foundation|council|agency|ministry|"
    r"organi[sz]ation|consortium|museum|\bresearch\b",
    re.IGNORECASE,
)
_STREET = re.compile(
    r"^(?:bd|blvd|boulevard|avenue|av|rue|via|viale|calle|carrer|avenida|rua|chemin|all[ée]e|piazza|plaza)\b\.?"
    r"|\b(?:street|st|road|rd|avenue|ave|boulevard|blvd|quarter|strasse|straße)\.?$",
    re.IGNORECASE,
)
_SYSTEM = re.compile(r"^(?:SUNY|CUNY|State University of New York|City University of New York)$")
_CAMPUS_SYSTEM = re.compile(
    r"^(?:the\s+)?(?:university\s+of\s+(?:california|texas|massachusetts|illinois|maryland|wisconsin|colorado|"
    r"north\s+carolina|missouri|nebraska|hawai.?i|tennessee|minnesota)|chinese\s+university\s+of\s+hong\s+kong|"
    r"harbin\s+institute\s+of\s+technology)$",
    re.IGNORECASE,
)
_US_STATE = re.compile(
    r"^(?:[A-Z][\w.'\-]*\s+){0,3}(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|"
    r"RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])(?:\s+\d{5}(?:-\d{4})?)?$"
)
_COUNTRIES = _word_list(
    """usa|u.s.a|us|u.s|united states|united states of america|america|uk|u.k|united kingdom|
    great britain|england|scotland|wales|northern ireland|ireland|china|p.r. china|pr china|
    p. r. china|p.r.china|people's republic of china|hong kong|hong kong sar|macau|macao|taiwan|japan|
    korea|south korea|republic of korea|singapore|india|germany|france|italy|spain|portugal|
    netherlands|the netherlands|belgium|luxembourg|switzerland|austria|sweden|norway|denmark|finland|
    iceland|poland|czech republic|czechia|slovakia|hungary|greece|turkey|türkiye|israel|russia|
    ukraine|estonia|latvia|lithuania|slovenia|croatia|serbia|romania|bulgaria|cyprus|canada|mexico|
    brazil|argentina|chile|colombia|peru|australia|new zealand|south africa|egypt|nigeria|kenya|
    morocco|tunisia|saudi arabia|uae|united arab emirates|qatar|iran|pakistan|bangladesh|vietnam|
    viet nam|thailand|malaysia|indonesia|philippines"""
)
_CITIES = _word_list(
    """beijing|shanghai|shenzhen|hangzhou|nanjing|guangzhou|wuhan|chengdu|xi'an|xian|hefei|tianjin|
    harbin|changsha|suzhou|xiamen|jinan|qingdao|dalian|chongqing|taipei|tokyo|kyoto|osaka|seoul|
    daejeon|bangalore|bengaluru|mumbai|delhi|new delhi|hyderabad|chennai|london|cambridge|oxford|
    edinburgh|manchester|paris|berlin|munich|münchen|zurich|zürich|lausanne|geneva|amsterdam|delft|
    eindhoven|copenhagen|stockholm|helsinki|oslo|vienna|prague|warsaw|madrid|barcelona|lisbon|milan|
    rome|turin|tel aviv|haifa|jerusalem|toronto|montreal|montréal|vancouver|waterloo|ottawa|edmonton|
    boston|new york|seattle|redmond|pittsburgh|berkeley|palo alto|menlo park|mountain view|
    san francisco|san jose|los angeles|san diego|chicago|austin|atlanta|princeton|ithaca|philadelphia|
    baltimore|ann arbor|madison|urbana|champaign|evanston|houston|sydney|melbourne|canberra|brisbane|
    auckland|moscow|tübingen|tuebingen|saarbrücken|darmstadt|heidelberg|karlsruhe|aachen|dresden|
    hamburg|stuttgart|leuven|ghent|grenoble|lyon|abu dhabi|dubai|doha|riyadh|thuwal"""
)
_REGIONS = _word_list(
    """california|texas|massachusetts|pennsylvania|new jersey|washington|illinois|maryland|georgia|
    ontario|quebec|québec|british columbia|alberta|guangdong|zhejiang|jiangsu|sichuan|hubei|hunan|
    shandong|fujian|anhui|bavaria|baden-württemberg"""
)
_PLACES = _CITIES | _REGIONS


@lru_cache(maxsize=4096)
def _institutions(address: str) -> tuple[str, ...]:
    """Institutions named by one address: a university or company wins over its departments, labs and
    city; without one, the last institute or lab named (sub-units are written before their parent)."""
    segments = [segment for segment in _segments(address) if segment]
    kinds = [_segment_kind(segment) for segment in segments]
    if _Kind.ORGANISATION in kinds:
        chosen = [
            _with_campus(segment, segments[index + 1] if index + 1 < len(segments) else None)
            for index, (segment, kind) in enumerate(zip(segments, kinds, strict=True))
            if kind is _Kind.ORGANISATION
        ]
    else:
        units = [
            s for s, kind in zip(segments, kinds, strict=True) if kind in (_Kind.INSTITUTE, _Kind.SUBUNIT)
        ]
        unknown = [s for s, kind in zip(segments, kinds, strict=True) if kind is _Kind.UNKNOWN]
        chosen = units[-1:] or unknown[:1]
        if not units and _Kind.LOCATION in kinds and not any(_is_city(segment) for segment in segments):
            # A name no rule knows, beside a postcode, region or country but no known city, is most
            # likely the city itself: "Bologna, 40126, Italy" names no institution.
            chosen = []
    return _unique(_TRAILING_LEGAL_FORM.sub("", institution) or institution for institution in chosen)


def _names_institution(address: str) -> bool:
    """Whether an address names an organisation, institute or lab (not only a place or a department)."""
    return any(_segment_kind(segment) in _INSTITUTION_KINDS for segment in _segments(address) if segment)


def _segments(address: str) -> list[str]:
    text = _strip_contacts(address)
    text = _TEX_LEFTOVER.sub(" ", text)
    segments: list[str] = []
    for part in re.split(r"[,;\n·•]+|\s+/\s+", text):
        cleaned = _clean_segment(part)
        if segments and _LEGAL_FORM_ONLY.match(part.strip()):
            segments[-1] += f", {part.strip()}"
        elif _DEPARTMENT.search(cleaned) and " at " in cleaned:
            segments.extend(_clean_segment(piece) for piece in cleaned.split(" at ", 1))
        else:
            segments.extend(_unit_apart(cleaned))
    return segments


_UNIT_AFTER = re.compile(
    r"\s+(?=(?:school|department|dept\.?|faculty|college|division)\s+of\b)", re.IGNORECASE
)


def _unit_apart(segment: str) -> list[str]:
    """ "Carnegie Mellon University School of Computer Science": a university followed, without a comma,
    by one of its schools is two parts; "London School of Economics" is one."""
    found = _UNIT_AFTER.search(segment)
    if found is None or _segment_kind(segment[: found.start()]) is not _Kind.ORGANISATION:
        return [segment]
    return [segment[: found.start()], segment[found.end() :]]


def _clean_segment(part: str) -> str:
    text = _collapse(part).strip(" .:-–—*†‡")
    text = _LABEL.sub("", text)
    text = _ACRONYM_IN_PARENTHESES.sub("", text).strip(" .:-–—*†‡")
    if text.startswith("(") and ")" not in text:
        text = text[1:]
    if text.endswith(")") and "(" not in text:
        text = text[:-1]
    return text.strip()


def _segment_kind(segment: str) -> _Kind:
    if not re.search(r"[^\W\d_]", segment) or "@" in segment:
        return _Kind.NOTE
    if _NOTE.search(segment):
        return _Kind.NOTE
    if _STREET.search(segment):
        return _Kind.LOCATION
    if (_DEPARTMENT.search(segment) or _is_field(segment)) and not _KNOWN_ORGANISATION.search(segment):
        return _Kind.DEPARTMENT
    if _SUBUNIT.search(segment) and not _KNOWN_ORGANISATION.search(segment):
        return _Kind.SUBUNIT
    if (
        _KNOWN_ORGANISATION.search(segment)
        or _ORGANISATION.search(segment)
        or _ORGANISATION_AI.search(segment)
        or _TRAILING_LEGAL_FORM.search(segment)
    ):
        return _Kind.ORGANISATION
    if _INSTITUTE.search(segment):
        return _Kind.INSTITUTE
    if _is_location(segment):
        return _Kind.LOCATION
    return _Kind.UNKNOWN


_FIELDS = _word_list(
    """science|sciences|engineering|mathematics|physics|statistics|informatics|chemistry|biology|
    economics|medicine|linguistics|psychology|neuroscience|astronomy|astrophysics|geosciences"""
)
_FIELD_WORDS = _FIELDS | _word_list(
    """computer|electrical|electronic|mechanical|civil|chemical|software|information|data|applied|
    computational|biomedical|industrial|aerospace|materials|environmental|cognitive|earth|
    technology|systems|and|of|&"""
)


def _is_field(segment: str) -> bool:
    """ "Computer Science", "Electrical and Computer Engineering": a department's subject, no institution."""
    words = re.findall(r"[^\W\d_]+|&", segment.lower())
    return bool(words) and all(word in _FIELD_WORDS for word in words) and any(w in _FIELDS for w in words)


def _is_city(segment: str) -> bool:
    return _collapse(re.sub(r"[\d\-]+", " ", segment)).lower().strip(" .") in _CITIES


def _is_location(segment: str) -> bool:
    folded = segment.lower().strip(" .")
    if folded in _COUNTRIES or folded in _PLACES or _US_STATE.match(segment):
        return True
    return bool(re.search(r"\d", segment))


def _with_campus(organisation: str, following: str | None) -> str:
    """Keep "University of California, Berkeley" whole: after a university system, the place is a
    campus; and "University at Buffalo, SUNY": the system named after its campus."""
    if following is not None and _SYSTEM.match(following):
        return f"{organisation}, {following}"
    if following is None or not _CAMPUS_SYSTEM.match(organisation):
        return organisation
    plain_place = following.lower() in _PLACES or _segment_kind(following) is _Kind.UNKNOWN
    if plain_place and len(following.split()) <= 3 and following.lower() not in organisation.lower():
        return f"{organisation}, {following}"
    return organisation


def _strip_contacts(text: str) -> str:
    return _ORCID.sub(" ", _URL.sub(" ", _EMAIL.sub(" ", text)))


def _collapse(text: str) -> str:
    return re.sub(r"[^\S\n]+", " ", text).strip()
