"""Real makes, models and trims for the demo inventory; WMI and VDS chosen so vininfo decodes the make."""

# (make, model, trims, body style, WMI, VDS prefix of 5, new price range in dollars)
CATALOG = [
    ("Toyota", "RAV4", ["LE", "XLE", "XLE Premium", "Limited", "TRD Off-Road"], "SUV", "2T3", "P1RFV", (29000, 41000)),
    ("Toyota", "Camry", ["LE", "SE", "XSE", "XLE"], "Sedan", "4T1", "G11AK", (27000, 36000)),
    ("Toyota", "Corolla", ["LE", "SE", "XSE"], "Sedan", "5YF", "B4MDE", (22000, 28000)),
    ("Toyota", "Highlander", ["LE", "XLE", "Limited", "Platinum"], "SUV", "5TD", "KDRAH", (39000, 52000)),
    ("Toyota", "Tacoma", ["SR", "SR5", "TRD Sport", "TRD Off-Road"], "Pickup", "3TM", "CZ5AN", (32000, 46000)),
    ("Toyota", "Tundra", ["SR5", "Limited", "Platinum"], "Pickup", "5TF", "LA5DB", (42000, 62000)),
    ("Toyota", "Sienna", ["LE", "XLE", "Limited"], "Minivan", "5TD", "XSKFC", (39000, 52000)),
    ("Honda", "CR-V", ["LX", "EX", "EX-L", "Sport Touring"], "SUV", "2HK", "RS4H7", (30000, 41000)),
    ("Honda", "Civic", ["LX", "Sport", "EX", "Touring"], "Sedan", "2HG", "FE2F5", (24000, 31000)),
    ("Honda", "Accord", ["LX", "EX", "Sport", "Touring"], "Sedan", "1HG", "CY1F3", (28000, 38000)),
    ("Honda", "Pilot", ["Sport", "EX-L", "TrailSport", "Elite"], "SUV", "5FN", "YG2H4", (40000, 53000)),
    ("Honda", "HR-V", ["LX", "Sport", "EX-L"], "SUV", "3CZ", "RZ2H5", (25000, 30000)),
    ("Honda", "Odyssey", ["EX", "EX-L", "Touring", "Elite"], "Minivan", "5FN", "RL6H7", (39000, 50000)),
    ("Ford", "F-150", ["XL", "XLT", "Lariat", "King Ranch"], "Pickup", "1FT", "FW1E5", (38000, 68000)),
    ("Ford", "Escape", ["Active", "ST-Line", "Platinum"], "SUV", "1FM", "CU9GN", (29000, 39000)),
    ("Chevrolet", "Silverado 1500", ["WT", "LT", "RST", "LTZ"], "Pickup", "1GC", "UDEED", (39000, 62000)),
    ("Chevrolet", "Equinox", ["LS", "LT", "RS"], "SUV", "3GN", "AXHEG", (28000, 36000)),
    ("Hyundai", "Tucson", ["SE", "SEL", "N Line", "Limited"], "SUV", "KM8", "JBCAE", (28000, 38000)),
    ("Subaru", "Outback", ["Base", "Premium", "Limited", "Onyx"], "Wagon", "4S4", "BTACC", (30000, 42000)),
    ("Nissan", "Rogue", ["S", "SV", "SL", "Platinum"], "SUV", "5N1", "BT3BA", (29000, 40000)),
]

FIRST_NAMES = [
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos", "Aisha", "Wei",
    "Priya", "Daniel", "Emily", "Jose", "Sarah", "Kevin", "Laura", "Brian", "Nicole", "Anthony", "Jessica",
    "Marcus", "Olivia", "Tyler", "Hannah", "Luis", "Grace", "Jamal", "Sofia", "Ethan", "Chloe", "Noah",
    "Ava", "Hiroshi", "Fatima", "Diego", "Mei", "Andre", "Rachel",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Nguyen", "Patel", "Kim", "Chen", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Hill", "Green", "Adams",
]
STREETS = ["Maple Ave", "Oak St", "Lakeview Dr", "Cedar Ln", "Main St", "Park Blvd", "Ridge Rd", "Elm St", "Sunset Way"]
COLORS = ["White", "Black", "Silver", "Gray", "Blue", "Red", "Green", "Brown"]
PROVIDERS = ["Cars.com", "Autotrader", "CarGurus", "TrueCar", "Toyota.com", "Honda.com", "Edmunds"]
LOST_REASONS = ["Bought elsewhere", "Price", "No response", "Credit declined", "Not ready to buy", "Chose another model"]
CALL_NOTES = [
    "Left voicemail about the vehicle they asked for.",
    "Talked through trim differences; wants to see it this weekend.",
    "Asked about payments around $450/month.",
    "Customer prefers text; sent photos.",
    "Spouse needs to see it; will call back.",
    "Confirmed trade-in details and mileage.",
]
