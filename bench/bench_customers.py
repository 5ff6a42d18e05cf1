"""Benchmark: the customer page with 10,000 timeline entries, and search over a million customers.

    make bench ARGS=customers            # seeds crm_bench_customers once (a few minutes), keeps it for reruns
    .venv/bin/python bench/bench_customers.py --reseed | --drop

Server time is measured in-process (Django's test client: URL routing, middleware, views, queries and
templates; no network), next to a raw baseline measured in the same run: the bare indexed SQL each page
is built on. Prints medians/p95 and ratios; writes bench/results/customers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "crm_bench_customers"
CUSTOMERS = 1_000_000
TIMELINE = 10_000
RUNS = 25

FIRST = ["james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth", "william",
         "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "christopher", "karen", "charles", "lisa",
         "daniel", "nancy", "matthew", "betty", "anthony", "sandra", "mark", "margaret", "donald", "ashley", "steven",
         "kimberly", "andrew", "emily", "paul", "donna", "joshua", "michelle", "kenneth", "carol", "kevin", "amanda",
         "brian", "melissa", "george", "deborah", "timothy", "stephanie", "ronald", "rebecca", "jason", "sharon",
         "edward", "laura", "jeffrey", "cynthia", "ryan", "dorothy", "jacob", "amy", "gary", "kathleen", "nicholas",
         "angela", "eric", "shirley", "jonathan", "brenda", "stephen", "emma", "larry", "anna", "justin", "pamela",
         "scott", "nicole", "brandon", "samantha", "benjamin", "katherine", "samuel", "christine", "gregory", "helen",
         "alexander", "debra", "patrick", "rachel", "frank", "carolyn", "raymond", "janet", "jack", "maria", "dennis",
         "catherine", "jerry", "heather", "tyler", "diane", "aaron", "olivia", "jose", "julie", "adam", "joyce",
         "nathan", "victoria", "henry", "ruth", "zachary", "virginia", "douglas", "lauren", "peter", "kelly", "kyle",
         "christina", "noah", "joan", "ethan", "evelyn", "jeremy", "judith", "walter", "andrea", "christian", "hannah",
         "keith", "megan", "roger", "cheryl", "terry", "jacqueline", "austin", "martha", "sean", "madison", "gerald",
         "teresa", "carl", "gloria", "harold", "sara", "dylan", "janice", "arthur", "ann", "lawrence", "kathryn",
         "jordan", "abigail", "jesse", "sophia", "bryan", "frances", "billy", "jean", "bruce", "alice", "gabriel",
         "judy", "joe", "isabella", "logan", "julia", "alan", "grace", "juan", "amber", "albert", "denise", "willie",
         "danielle", "elijah", "marilyn", "wayne", "beverly", "randy", "charlotte", "vincent", "natalie", "mason",
         "theresa", "roy", "diana", "ralph", "brittany", "bobby", "doris", "russell", "kayla", "bradley", "alexis"]
LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
        "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin", "lee",
        "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young",
        "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker",
        "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "gomez", "phillips", "evans", "turner", "diaz",
        "parker", "cruz", "edwards", "collins", "reyes", "stewart", "morris", "morales", "murphy", "cook", "rogers",
        "gutierrez", "ortiz", "morgan", "cooper", "peterson", "bailey", "reed", "kelly", "howard", "ramos", "kim",
        "cox", "ward", "richardson", "watson", "brooks", "chavez", "wood", "james", "bennett", "gray", "mendoza",
        "ruiz", "hughes", "price", "alvarez", "castillo", "sanders", "patel", "myers", "long", "ross", "foster",
        "jimenez", "powell", "jenkins", "perry", "russell", "sullivan", "bell", "coleman", "butler", "henderson",
        "barnes", "gonzales", "fisher", "vasquez", "simmons", "romero", "jordan", "patterson", "alexander", "hamilton",
        "graham", "reynolds", "griffin", "wallace", "moreno", "west", "cole", "hayes", "bryant", "herrera", "gibson",
        "ellis", "tran", "medina", "aguilar", "stevens", "murray", "ford", "castro", "marshall", "owens", "harrison",
        "fernandez", "mcdonald", "woods", "washington", "kennedy", "wells", "vargas", "henry", "chen", "freeman",
        "webb", "tucker", "guzman", "burns", "crawford", "olson", "simpson", "porter", "hunter", "gordon", "mendez",
        "silva", "shaw", "snyder", "mason", "dixon", "munoz", "hunt", "hicks", "holmes", "palmer", "wagner", "black",
        "robertson", "boyd", "rose", "stone", "salazar", "fox", "warren", "mills", "meyer", "rice", "schmidt",
        "garza", "daniels", "ferguson", "nichols", "stephens", "soto", "weaver", "ryan", "gardner", "payne", "grant",
        "dunn", "kelley", "spencer", "hawkins", "arnold", "pierce", "vazquez", "hansen", "peters", "santos", "hart",
        "bradley", "knight", "elliott", "cunningham", "duncan", "armstrong", "hudson", "carroll", "lane", "riley",
        "andrews", "alvarado", "ray", "delgado", "berry", "perkins", "hoffman", "johnston", "matthews", "pena",
        "richards", "contreras", "willis", "carpenter", "lawrence", "sandoval", "guerrero", "george", "chapman",
        "rios", "estrada", "ortega", "watkins", "greene", "nunez", "wheeler", "valdez", "harper", "burke", "larson",
        "santiago", "maldonado", "morrison", "franklin", "carlson", "austin", "dominguez", "carr", "lawson", "jacobs",
        "obrien", "lynch", "singh", "vega", "bishop", "montgomery", "oliver", "jensen", "harvey", "williamson",
        "gilbert", "dean", "sims", "espinoza", "howell", "li", "wong", "reid", "hanson", "le", "mccoy", "garrett",
        "burton", "fuller", "wang", "weber", "welch", "rojas", "lucas", "marquez", "fields", "park", "yang", "little",
        "banks", "padilla", "day", "walsh", "bowman", "schultz", "luna", "fowler", "mejia", "davidson", "acosta",
        "brewer", "may", "holland", "juarez", "newman", "pearson", "curtis", "cortez", "douglas", "schneider",
        "joseph", "barrett", "navarro", "figueroa", "keller", "avila", "wade", "molina", "stanley", "hopkins",
        "campos", "barnett", "bates", "chambers", "caldwell", "beck", "lambert", "miranda", "byrd", "craig", "ayala",
        "lowe", "frazier", "powers", "neal", "leonard", "gregory", "carrillo", "sutton", "fleming", "rhodes",
        "shelton", "schwartz", "norris", "jennings", "watts", "duran", "walters", "cohen", "mcdaniel", "moran",
        "parks", "steele", "vaughn", "becker", "holt", "deleon", "barker", "terry", "hale", "leon", "hail", "benson",
        "haynes", "horton", "miles", "lyons", "pham", "graves", "bush", "thornton", "wolfe", "warner", "cabrera",
        "mckinney", "mann", "zimmerman", "dawson", "lara", "fletcher", "page", "mccarthy", "love", "robles", "cervantes",
        "solis", "erickson", "reeves", "chang", "klein", "salinas", "fuentes", "baldwin", "daniel", "simon", "velasquez",
        "hardy", "higgins", "aguirre", "lin", "cummings", "chandler", "sharp", "barber", "bowen", "ochoa", "dennis",
        "robbins", "liu", "ramsey", "francis", "griffith", "paul", "blair", "oconnor", "cardenas", "pacheco", "cross",
        "calderon", "quinn", "moss", "swanson", "chan", "rivas", "khan", "rodgers", "serrano", "fitzgerald", "rosales",
        "stevenson", "christensen", "manning", "gill", "curry", "mclaughlin", "harmon", "mcgee", "gross", "doyle",
        "garner", "newton", "burgess", "reese", "walton", "blake", "trujillo", "adkins", "brady", "goodman", "roman",
        "webster", "goodwin", "fischer", "huang", "potter", "delacruz", "montoya", "todd", "wu", "hines", "mullins",
        "castaneda", "malone", "cannon", "tate", "mack", "sherman", "hubbard", "hodges", "zhang", "guerra", "wolf",
        "valencia", "saunders", "franco", "rowe", "gallagher", "farmer", "hammond", "hampton", "townsend", "ingram",
        "wise", "gallegos", "clarke", "barton", "schroeder", "maxwell", "waters", "logan", "camacho", "strickland",
        "norman", "person", "colon", "parsons", "frank", "harrington", "glover", "osborne", "buchanan", "casey",
        "floyd", "patton", "ibarra", "ball", "tyler", "suarez", "bowers", "orozco", "salas", "cobb", "gibbs",
        "andrade", "bauer", "conner", "moody", "escobar", "mcguire", "lloyd", "mueller", "hartman", "french",
        "kramer", "mcbride", "pope", "lindsey", "velazquez", "norton", "mccormick", "sparks", "flynn", "yates",
        "hogan", "marsh", "macias", "villanueva", "zamora", "pratt", "stokes", "owen", "ballard", "lang", "brock",
        "villarreal", "charles", "drake", "barrera", "cain", "patrick", "pineda", "burnett", "mercado", "santana",
        "shepherd", "bautista", "ali", "shaffer", "lamb", "trevino", "mckenzie", "hess", "beil", "olsen", "cochran",
        "morton", "nash", "wilkins", "petersen", "briggs", "shah", "roth", "nicholson", "holloway", "lozano", "rangel",
        "flowers", "hoover", "short", "arias", "mora", "valenzuela", "bryan", "meyers", "weiss", "underwood", "bass",
        "greer", "summers", "houston", "carson", "morrow", "clayton", "whitaker", "decker", "yoder", "collier",
        "zuniga", "carey", "wilcox", "melendez", "poole", "roberson", "larsen", "conley", "davenport", "copeland",
        "massey", "lam", "huff", "rocha", "cameron", "jefferson", "hood", "monroe", "anthony", "pittman", "huynh",
        "randall", "singleton", "kirk", "combs", "mathis", "christian", "skinner", "bradford", "richard", "galvan",
        "wall", "boone", "kirby", "wilkinson", "bridges", "bruce", "atkinson", "velez", "meza", "roy", "vincent",
        "york", "hodge", "villa", "abbott", "allison", "tapia", "gates", "chase", "sosa", "sweeney", "farrell",
        "wyatt", "dalton", "horn", "barron", "phelps", "yu", "dickerson", "heath", "foley", "atkins", "mathews",
        "bonilla", "acevedo", "benitez", "zavala", "hensley", "glenn", "cisneros", "harrell", "shields", "rubio"]


def bench_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, parts.fragment))


def admin_connect():
    import psycopg

    url = os.environ["DATABASE_URL"]
    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def ensure_database(reseed: bool) -> None:
    with admin_connect() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if exists and reseed:
            conn.execute(f'DROP DATABASE "{BENCH_DB}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def drop_database() -> None:
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


HEAVY_INDEXES = {
    "customer_search_name_trgm": "CREATE INDEX customer_search_name_trgm ON customers_customer USING gin (search_name gin_trgm_ops)",
    "customer_first_trgm": "CREATE INDEX customer_first_trgm ON customers_customer USING gin (first_name gin_trgm_ops)",
    "customer_last_trgm": "CREATE INDEX customer_last_trgm ON customers_customer USING gin (last_name gin_trgm_ops)",
    "customer_search_name_prefix": "CREATE INDEX customer_search_name_prefix ON customers_customer (dealer_group_id, search_name varchar_pattern_ops)",
    "customer_email_prefix": "CREATE INDEX customer_email_prefix ON customers_customeremail (email varchar_pattern_ops)",
    "customer_phone_trgm": "CREATE INDEX customer_phone_trgm ON customers_customerphone USING gin (e164 gin_trgm_ops)",
}


def seed(log) -> dict:
    """Bulk data in SQL (generate_series), heavy indexes dropped during the load and rebuilt after."""
    from rooftops.models import DealerGroup

    existing = DealerGroup.objects.filter(slug="bench-group").first()
    if existing:
        rooftop = existing.rooftops.order_by("id").first()
        return {"group": existing.pk, "rooftop": rooftop.pk}
    from django.db import transaction

    with transaction.atomic():  # all or nothing: a half-seeded database is never taken for a seeded one
        return _seed(log)


def _seed(log) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection

    from rooftops.models import DealerGroup, Role, Rooftop, StaffProfile, StaffRole

    started = time.monotonic()
    group = DealerGroup.objects.create(name="Bench Group", slug="bench-group")
    rooftop = Rooftop.objects.create(dealer_group=group, name="Bench Toyota", slug="bench-toyota")
    other = Rooftop.objects.create(dealer_group=group, name="Bench Honda", slug="bench-honda", time_zone="America/Denver")
    user = User.objects.create(username="bench-sales@bench.test")
    StaffProfile.objects.create(user=user, dealer_group=group, display_name="Bench Sales")
    StaffRole.objects.create(user=user, rooftop=rooftop, role=Role.SALESPERSON)
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        for name in HEAVY_INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {name}")
        log("loading 1,000,000 customers ...")
        cur.execute(
            """
            INSERT INTO customers_customer (dealer_group_id, first_name, last_name, street, city, region, postal_code,
                country, time_zone, preferred_contact, created_at, updated_at, drivers_licence_state)
            SELECT %s, initcap((%s::text[])[1 + (i * 7919) %% cardinality(%s::text[])]),
                   initcap((%s::text[])[1 + (i * 104729) %% cardinality(%s::text[])]),
                   (i %% 9000 + 10)::text || ' Main St', 'Boston', 'MA', lpad((i %% 99999)::text, 5, '0'), 'US', '', '',
                   now() - (i %% 1000) * interval '1 hour', now(), ''
            FROM generate_series(1::bigint, %s) AS i
            """,
            [group.pk, FIRST, FIRST, LAST, LAST, CUSTOMERS],
        )
        cur.execute("SELECT min(id) FROM customers_customer WHERE dealer_group_id = %s", [group.pk])
        base = cur.fetchone()[0]
        log("known at rooftops, emails, phones ...")
        cur.execute(
            "INSERT INTO customers_customerrooftop (customer_id, rooftop_id, first_seen_at, dms_customer_number) "
            "SELECT id, CASE WHEN id %% 5 < 3 THEN %s ELSE %s END, now(), '' FROM customers_customer WHERE dealer_group_id = %s",
            [rooftop.pk, other.pk, group.pk],
        )
        cur.execute(
            "INSERT INTO customers_customeremail (customer_id, email, is_primary) "
            "SELECT id, lower(first_name || '.' || last_name || (id - %s)::text || '@example.com'), true "
            "FROM customers_customer WHERE dealer_group_id = %s",
            [base, group.pk],
        )
        cur.execute(
            "INSERT INTO customers_customerphone (customer_id, e164, label, is_primary) "
            # Valid numbers (an exchange cannot start with 0 or 1), so a typed number is read as a whole phone too.
            "SELECT id, '+1617' || (2000000 + (id - %s) %% 8000000)::text, 'mobile', true "
            "FROM customers_customer WHERE dealer_group_id = %s",
            [base, group.pk],
        )
        log("rebuilding trigram and prefix indexes ...")
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # Django's deferred FK checks must run before CREATE INDEX
        for sql in HEAVY_INDEXES.values():
            cur.execute(sql)
        log("timelines ...")
        cur.execute(
            """
            INSERT INTO customers_timelineentry (customer_id, rooftop_id, department, kind, occurred_at, summary, body,
                direction, detail)
            SELECT %s, %s, (ARRAY['sales','service','web','bdc'])[1 + i %% 4],
                   (ARRAY['call','service_visit','web_session','note','text','email','appointment'])[1 + i %% 7],
                   now() - i * interval '37 minutes', 'Entry ' || i || ': a realistic one-line summary of what happened',
                   CASE WHEN i %% 3 = 0 THEN 'Spoke with the customer about the trade-in and the payment.' ELSE '' END,
                   CASE WHEN i %% 2 = 0 THEN 'out' ELSE '' END, '{}'::jsonb
            FROM generate_series(1, %s) AS i
            """,
            [heavy_and_light(base)[0], rooftop.pk, TIMELINE],
        )
        cur.execute(
            "INSERT INTO customers_timelineentry (customer_id, rooftop_id, department, kind, occurred_at, summary, body, direction, detail) "
            "SELECT %s, %s, 'sales', 'note', now() - i * interval '1 day', 'Entry ' || i, '', '', '{}'::jsonb FROM generate_series(1, 10) AS i",
            [heavy_and_light(base)[1], rooftop.pk],
        )
        cur.execute("ANALYZE")
    log(f"seeded in {time.monotonic() - started:.0f} s")
    return {"group": group.pk, "rooftop": rooftop.pk}


def heavy_and_light(base: int) -> tuple[int, int]:
    """Two customers known at the bench user's rooftop (id % 5 < 3): one with 10,000 entries, one with 10."""
    heavy = visible(base)
    return heavy, heavy + 5


def visible(customer_id: int) -> int:
    """The first id from `customer_id` on that the seed made known at the bench user's rooftop (id % 5 == 0)."""
    return customer_id + (-customer_id) % 5


def timed(fn, runs=RUNS) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--page-only", action="store_true", help="only the customer page (alternating before/after runs)")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed requests per figure (default {RUNS})")
    args = parser.parse_args()
    log = lambda message: print(f"  {message}", flush=True)  # noqa: E731

    ensure_database(args.reseed)
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from customers.models import Customer
    from customers.selectors import customer_search, timeline_page
    from rooftops.selectors import staff_access
    from django.contrib.auth.models import User

    log("migrating the bench database ...")
    call_command("migrate", verbosity=0)
    ids = seed(log)
    user = User.objects.get(username="bench-sales@bench.test")
    access = staff_access(user)
    base = Customer.unscoped.filter(dealer_group_id=ids["group"]).order_by("id").values_list("id", flat=True).first()
    heavy, light = heavy_and_light(base)
    client = Client()
    client.force_login(user)
    results: dict = {"customers": Customer.unscoped.filter(dealer_group_id=ids["group"]).count()}

    def raw(sql, params):
        def run():
            with connection.cursor() as cur:
                cur.execute(sql, params)
                cur.fetchall()
        return run

    # --- customer page -------------------------------------------------------------------------
    assert client.get(f"/customers/{heavy}/").status_code == 200 and client.get(f"/customers/{light}/").status_code == 200
    statements: list[str] = []  # every statement one page sends (Django's request_started resets connection.queries)
    with connection.execute_wrapper(lambda execute, sql, *rest: statements.append(sql) or execute(sql, *rest)):
        client.get(f"/customers/{heavy}/")
    page_heavy = summary(timed(lambda: client.get(f"/customers/{heavy}/"), args.runs))
    page_light = summary(timed(lambda: client.get(f"/customers/{light}/"), args.runs))
    baseline_sql = ("SELECT id, occurred_at, summary FROM customers_timelineentry WHERE customer_id = %s "
                    "ORDER BY occurred_at DESC, id DESC LIMIT 31")
    page_raw = summary(timed(raw(baseline_sql, [heavy]), args.runs))
    cursor = ""
    for _ in range(300):
        cursor = timeline_page(customer=Customer.unscoped.get(pk=heavy), access=access, cursor=cursor).next_cursor
    deep = summary(timed(lambda: client.get(f"/customers/{heavy}/timeline/", {"cursor": cursor})))
    filtered = summary(timed(lambda: client.get(f"/customers/{heavy}/timeline/", {"kind": "service_visit"})))
    results["customer_page"] = {
        "10000_entries": page_heavy, "10_entries": page_light, "raw_first_page_sql": page_raw,
        "load_more_page_300": deep, "filter_kind": filtered,
        "ratio_10000_to_10": round(page_heavy["median_ms"] / page_light["median_ms"], 2),
        "ratio_to_raw_sql": round(page_heavy["median_ms"] / max(page_raw["median_ms"], 0.01), 1),
        "statements_10000_entries": len(statements), "runs": args.runs,
        "load_average": os.getloadavg(),
    }
    if args.page_only:
        cp = results["customer_page"]
        print(f"  customer page, 10,000 entries: median {cp['10000_entries']['median_ms']} ms, p95 {cp['10000_entries']['p95_ms']} ms, "
              f"{cp['statements_10000_entries']} statements; 10 entries: median {cp['10_entries']['median_ms']} ms; raw first-page "
              f"SQL {cp['raw_first_page_sql']['median_ms']} ms (page/raw {cp['ratio_to_raw_sql']}x); load {cp['load_average'][0]:.2f}")
        connection.close()
        return 0

    # --- search ----------------------------------------------------------------------------------
    # Customers the bench user can see (known at their rooftop: id % 5 < 3), wherever the id sequence started.
    with connection.cursor() as cur:
        cur.execute("SELECT e164 FROM customers_customerphone WHERE customer_id = %s", [visible(base + 123456)])
        phone = cur.fetchone()[0]
        cur.execute("SELECT email FROM customers_customeremail WHERE customer_id = %s", [visible(base + 654321)])
        email = cur.fetchone()[0]
    pretty_phone = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    queries = {
        "typo full name": "jonathon smithe",
        "one common last name": "johnson",
        "name with typo, rare": "katherin whitaker",
        "phone formatted": pretty_phone,
        "last 7 digits": phone[-7:],
        "email": email,
        "two letters": "jo",
    }
    search: dict = {}
    for label, query in queries.items():
        found = customer_search(access=access, query=query)
        view = summary(timed(lambda q=query: client.get("/customers/", {"q": q}, HTTP_HX_REQUEST="true")))
        selector = summary(timed(lambda q=query: customer_search(access=access, query=q)))
        search[label] = {"query": query, "hits": found.total, "top": found.hits[0].customer.full_name if found.hits else "",
                         "view": view, "selector": selector}
    name_raw = summary(timed(raw(
        "SELECT id FROM customers_customer WHERE search_name %% %s ORDER BY similarity(search_name, %s) DESC LIMIT 20",
        ["jonathon smithe", "jonathon smithe"])))
    word_raw = summary(timed(raw(
        "SELECT id FROM customers_customer WHERE %s <%% search_name ORDER BY word_similarity(%s, search_name) DESC LIMIT 20",
        ["johnson", "johnson"])))
    # What a common name is read by now (customers.selectors._exact_words_reading): its exact namesakes.
    exact_raw = summary(timed(raw(
        "SELECT id FROM customers_customer WHERE regexp_split_to_array(search_name, '[ ''.,-]+') @> %s::text[] "
        "ORDER BY search_name, id LIMIT 201", [["johnson"]])))
    phone_raw = summary(timed(raw("SELECT customer_id FROM customers_customerphone WHERE e164 = %s", [phone])))
    search["raw_trigram_sql (name, no scope)"] = name_raw
    search["raw_word_trigram_sql (johnson, no scope)"] = word_raw
    search["ratio_common_name_view_to_raw_word_trigram"] = round(search["one common last name"]["view"]["median_ms"] / max(word_raw["median_ms"], 0.01), 2)
    search["raw_exact_word_sql (johnson, no scope)"] = exact_raw
    search["ratio_common_name_view_to_raw_exact_word"] = round(search["one common last name"]["view"]["median_ms"] / max(exact_raw["median_ms"], 0.01), 2)
    search["raw_phone_sql"] = phone_raw
    search["ratio_typo_name_view_to_raw_trigram"] = round(search["typo full name"]["view"]["median_ms"] / max(name_raw["median_ms"], 0.01), 2)
    search["ratio_phone_view_to_raw"] = round(search["phone formatted"]["view"]["median_ms"] / max(phone_raw["median_ms"], 0.01), 1)
    results["search"] = search

    print(f"\n  customers in the bench group: {results['customers']:,}")
    cp = results["customer_page"]
    print(f"  customer page, 10,000 entries: median {cp['10000_entries']['median_ms']} ms, p95 {cp['10000_entries']['p95_ms']} ms")
    print(f"  customer page, 10 entries:     median {cp['10_entries']['median_ms']} ms  (ratio 10k/10: {cp['ratio_10000_to_10']})")
    print(f"  raw first-page SQL:            median {cp['raw_first_page_sql']['median_ms']} ms  (page/raw: {cp['ratio_to_raw_sql']}x)")
    print(f"  load more at page 300:         median {cp['load_more_page_300']['median_ms']} ms; kind filter {cp['filter_kind']['median_ms']} ms")
    for label, row in search.items():
        if isinstance(row, dict) and "view" in row:
            print(f"  search {label!r:<24} {row['query']!r:<28} view median {row['view']['median_ms']:>7} ms, p95 "
                  f"{row['view']['p95_ms']:>7} ms; selector {row['selector']['median_ms']:>7} ms; {row['hits']} hits, top {row['top']!r}")
    print(f"  raw word-trigram SQL 'johnson' (no scope): {word_raw['median_ms']} ms; common-name view/raw "
          f"{search['ratio_common_name_view_to_raw_word_trigram']}x")
    print(f"  raw exact-word SQL 'johnson' (no scope): {exact_raw['median_ms']} ms; common-name view/raw "
          f"{search['ratio_common_name_view_to_raw_exact_word']}x")
    print(f"  raw trigram SQL (no scope): {name_raw['median_ms']} ms; raw phone SQL {phone_raw['median_ms']} ms; "
          f"typo view/raw {search['ratio_typo_name_view_to_raw_trigram']}x, phone view/raw {search['ratio_phone_view_to_raw']}x")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "customers.json").write_text(json.dumps(results, indent=2, default=str))
    connection.close()
    if args.drop:
        drop_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
