"""Shoppers for Google's Online Boutique demo, in three load shapes for Amadeus.

    locust -f scripts/locust/locustfile.py --host http://FRONTEND
    AMADEUS_SHAPE=daily|flash-sale|trace locust -f scripts/locust/locustfile.py --headless --host http://FRONTEND

Each simulated user repeats shopping journeys against the frontend's routes, picked by weight:
most only browse, fewer put something in the cart and leave, the fewest check out. Between pages
they think for a while. AMADEUS_SHAPE picks the load shape (users over time); unset, Locust's
own --users/--spawn-rate/--run-time apply. README.md lists every environment variable.
"""
from __future__ import annotations

import datetime
import logging
import os
import random
import sys

from locust import HttpUser, LoadTestShape, SequentialTaskSet, between, events

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402 - needs the path above

PRODUCTS = [
    "OLJCESPC7Z",  # Sunglasses
    "66VCHSJNUP",  # Tank Top
    "1YMWWN1N4O",  # Watch
    "L9ECAV7KIM",  # Loafers
    "2ZYFJ3GM2N",  # Hairdryer
    "0PUK6V6EV0",  # Candle Holder
    "LS4PSXUNUM",  # Salt & Pepper Shakers
    "9SIQT8TOJO",  # Bamboo Glass Jar
    "6E92ZMYYFZ",  # Mug
]
CURRENCIES = ["EUR", "USD", "JPY", "GBP", "TRY", "CAD"]
QUANTITIES = [1, 1, 1, 1, 2, 2, 3, 5]  # most buy one
CURRENCY_CHANCE = 0.3  # of a browsing visit switching currency
EMPTY_CART_CHANCE = 0.3  # of an abandoned cart being emptied first

try:
    THINK_MIN = shapes.env_number(os.environ, "THINK_MIN_SECONDS", 1.0)
    THINK_MAX = shapes.env_number(os.environ, "THINK_MAX_SECONDS", 10.0, minimum=THINK_MIN)
    WEIGHTS = {
        journey: int(shapes.env_number(os.environ, f"WEIGHT_{journey}", default, integer=True))
        for journey, default in (("BROWSE", 75), ("CART", 20), ("CHECKOUT", 5))
    }
    if sum(WEIGHTS.values()) == 0:
        raise shapes.ConfigError("WEIGHT_BROWSE, WEIGHT_CART and WEIGHT_CHECKOUT are all 0")
    PLAN = shapes.plan_from_env(os.environ)
except shapes.ConfigError as err:
    sys.exit(f"locustfile: {err}")

log = logging.getLogger("amadeus.locust")


class Journey(SequentialTaskSet):
    """A shopper's visit; the user thinks (wait_time) after each step."""

    page = "/"
    product = PRODUCTS[0]

    def open(self, path: str, name: str) -> None:
        self.client.get(path, name=name)
        self.page = path

    def home(self) -> None:
        self.open("/", "/")

    def view_product(self) -> None:
        self.product = random.choice(PRODUCTS)
        self.open(f"/product/{self.product}", "/product/[id]")

    def set_currency(self) -> None:
        # The frontend redirects back to the Referer, as a browser sends it, else to /.
        self.client.post(
            "/setCurrency",
            data={"currency_code": random.choice(CURRENCIES)},
            headers={"Referer": f"{self.client.base_url}{self.page}"},
            name="/setCurrency",
        )

    def add_to_cart(self) -> None:
        # Adds the product on screen; the frontend redirects to /cart (followed, as a browser does).
        self.client.post("/cart", data={"product_id": self.product, "quantity": random.choice(QUANTITIES)}, name="/cart")
        self.page = "/cart"

    def view_cart(self) -> None:
        self.open("/cart", "/cart")

    def empty_cart(self) -> None:
        self.client.post("/cart/empty", name="/cart/empty")  # redirects to /
        self.page = "/"

    def place_order(self) -> None:
        year = datetime.date.today().year
        self.client.post(
            "/cart/checkout",
            data={
                "email": f"shopper{random.randrange(100000)}@example.com",
                "street_address": "1600 Amphitheatre Parkway",
                "zip_code": "94043",
                "city": "Mountain View",
                "state": "CA",
                "country": "United States",
                "credit_card_number": "4432-8015-6152-0454",
                "credit_card_expiration_month": str(random.randint(1, 12)),
                "credit_card_expiration_year": str(year + random.randint(1, 4)),
                "credit_card_cvv": str(random.randint(100, 999)),
            },
            name="/cart/checkout",
        )

    def leave(self) -> None:
        """Ends the visit; the user thinks before the next one."""
        self.interrupt(reschedule=False)


# Each visit is a list of steps, run in order (a SequentialTaskSet calls each with the visit).


def maybe_set_currency(visit: Journey) -> None:
    if random.random() < CURRENCY_CHANCE:
        visit.set_currency()


def maybe_add_to_cart(visit: Journey) -> None:
    if random.random() < 0.5:
        visit.add_to_cart()


def abandon(visit: Journey) -> None:
    if random.random() < EMPTY_CART_CHANCE:
        visit.empty_cart()
    visit.leave()


def continue_shopping(visit: Journey) -> None:
    visit.home()
    visit.leave()


J = Journey


class Browse(Journey):
    """Window shopping: the home page, maybe another currency, three products; buys nothing."""

    tasks = [J.home, maybe_set_currency, J.view_product, J.view_product, J.view_product, J.leave]


class AbandonCart(Journey):
    """Puts a product or two in the cart, looks at the cart again later, and leaves without paying
    (sometimes emptying the cart first)."""

    tasks = [J.home, J.view_product, J.add_to_cart, J.view_product, maybe_add_to_cart, J.view_cart, abandon]


class Checkout(Journey):
    """Buys: two products into the cart, reviews it, places the order, goes back to the shop."""

    tasks = [J.home, J.view_product, J.add_to_cart, J.view_product, J.add_to_cart, J.view_cart, J.place_order, continue_shopping]


class Shopper(HttpUser):
    wait_time = between(THINK_MIN, THINK_MAX)
    tasks = {journey: weight for journey, weight in zip((Browse, AbandonCart, Checkout), WEIGHTS.values()) if weight > 0}


if PLAN is not None:
    # Locust uses the one LoadTestShape subclass the locustfile defines; it exists only when
    # AMADEUS_SHAPE selects a plan.
    class AmadeusShape(LoadTestShape):
        plan = PLAN

        def tick(self):
            return self.plan.tick(self.get_run_time())

    @events.init.add_listener
    def _describe(environment, **_kwargs) -> None:
        log.info("AMADEUS_SHAPE=%s: %s", PLAN.name, PLAN.description)
