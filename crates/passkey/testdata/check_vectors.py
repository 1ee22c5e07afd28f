#!/usr/bin/env python3
"""Independent check of evidence_vectors.json with pyca/cryptography (not RustCrypto).

Checks, for every vector: the public key derives from the private key; the
signature verifies over authenticatorData || SHA-256(clientDataJSON); the
clientDataJSON carries the challenge (base64url, no padding), type and origin;
rpIdHash = SHA-256(rp_id); UP and UV are set; the evidence encoding is the four
u64-BE-length-prefixed fields. BLAKE3 (challenge and commitment) is checked too
when the `blake3` module is installed.

    python3 crates/passkey/testdata/check_vectors.py
"""
import base64, hashlib, json, os, struct, sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

try:
    import blake3
except ImportError:
    blake3 = None

doc = json.load(open(os.path.join(os.path.dirname(__file__), "evidence_vectors.json")))
rp_id = doc["rp_id"]
for v in doc["vectors"]:
    h = lambda k: bytes.fromhex(v[k])
    priv, pub = h("private_key_hex"), h("public_key_hex")
    cdj, ad, sig = h("client_data_json_hex"), h("authenticator_data_hex"), h("signature_hex")
    msg = ad + hashlib.sha256(cdj).digest()
    if v["alg"] == "es256":
        sk = ec.derive_private_key(int.from_bytes(priv, "big"), ec.SECP256R1())
        raw = sk.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        assert raw == pub, "ES256 public key"
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub).verify(sig, msg, ec.ECDSA(hashes.SHA256()))
    else:
        sk = ed25519.Ed25519PrivateKey.from_private_bytes(priv)
        raw = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert raw == pub, "Ed25519 public key"
        ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    cd = json.loads(cdj.decode("utf-8"))
    challenge = h("challenge_hex")
    assert cd["type"] == "webauthn.get"
    assert cd["challenge"] == base64.urlsafe_b64encode(challenge).rstrip(b"=").decode()
    assert cd["origin"] in doc["allowed_origins"]
    assert ad[:32] == hashlib.sha256(rp_id.encode()).digest() and len(ad) == 37
    assert ad[32] & 0x01 and ad[32] & 0x04, "UP and UV"
    enc = b"".join(struct.pack(">Q", len(f)) + f for f in (h("credential_id_hex"), cdj, ad, sig))
    assert enc == h("evidence_encoding_hex"), "evidence encoding"
    if blake3 is not None:
        c = blake3.blake3(h("action_hex") + h("nonce_hex"), derive_key_context="veche action assertion v1").digest()
        assert c == challenge, "challenge"
        m = blake3.blake3(enc, derive_key_context="veche assertion evidence v1").digest()
        assert m == h("commitment_hex"), "commitment"
    print("ok", v["name"], "(BLAKE3 checked)" if blake3 else "(BLAKE3 not checked: pip install blake3)")
