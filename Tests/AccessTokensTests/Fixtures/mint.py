"""Mints the test tokens of AccessTokensTests with an independent library (PyJWT; `pip install "PyJWT[crypto]"`):
`python3 mint.py > tokens.json`. Keys are made fresh each run; only the public ones are kept (in tokens.json).
The tests verify at NOW."""
import base64
import hmac
import json

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

NOW = 1_800_000_000
SECRET = "parley-test-secret-0123456789abcdef"      # key "app"
SECRET2 = "another-parley-test-secret-9876543210"    # key "app2", picked by `iss`
GRANT = {"room": "abc", "roomJoin": True, "canPublish": False}


def hs(claims, key=SECRET, kid="app"):
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid} if kid else None)


def pem(public):
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


base = {"sub": "alice", "name": "Alice", "exp": NOW + 3600, "nbf": NOW - 1000, "video": GRANT}
ec_key, rsa_key, jwks_key = ec.generate_private_key(ec.SECP256R1()), rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP256R1())
numbers = jwks_key.public_key().public_numbers()
unsigned = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "app"}).encode()) + "." + b64(json.dumps(base).encode()) + "."
valid = hs(base)
head, payload, signature = valid.split(".")
tampered = json.loads(base64.urlsafe_b64decode(payload + "=="))
tampered["video"]["canPublish"] = True

# Algorithm confusion: HS256 "keyed" with the EC public key's PEM, naming the EC key.
signed = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "ec1"}).encode()) + "." + b64(json.dumps(base).encode())
confused = signed + "." + b64(hmac.new(pem(ec_key.public_key()).encode(), signed.encode(), "sha256").digest())

print(json.dumps({
    "now": NOW,
    "secrets": {"app": SECRET, "app2": SECRET2},
    "ecPublicKey": pem(ec_key.public_key()),
    "rsaPublicKey": pem(rsa_key.public_key()),
    "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "kid": "jw1", "alg": "ES256", "use": "sig",
                       "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}]},
    "tokens": {
        "valid": valid,
        "byIssuer": hs({"sub": "bob", "iss": "app2", "exp": NOW + 60}, key=SECRET2, kid=None),
        "expired": hs({**base, "exp": NOW - 3600}),
        "expiredWithinLeeway": hs({**base, "exp": NOW - 30}),
        "notYetValid": hs({**base, "nbf": NOW + 3600}),
        "wrongSecret": hs(base, key="not-the-right-secret-0123456789abcdef"),
        "noExp": hs({"sub": "alice"}),
        "noSub": hs({"exp": NOW + 60}),
        "algNone": unsigned,
        "tampered": head + "." + b64(json.dumps(tampered).encode()) + "." + signature,
        "unknownKid": hs(base, kid="nope"),
        "es256": jwt.encode(base, ec_key, algorithm="ES256", headers={"kid": "ec1"}),
        "rs256": jwt.encode(base, rsa_key, algorithm="RS256", headers={"kid": "rsa1"}),
        "hs256KeyedWithTheECPublicKey": confused,
        "jwks": jwt.encode(base, jwks_key, algorithm="ES256", headers={"kid": "jw1"}),
    },
}, indent=1))
