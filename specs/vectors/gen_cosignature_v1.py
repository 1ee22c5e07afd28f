#!/usr/bin/env python3
# Writes specs/vectors/cosignature-v1.json: python3 specs/vectors/gen_cosignature_v1.py > specs/vectors/cosignature-v1.json
# Independent generator of the cosignature/v1 vectors (Python `cryptography`),
# so that the Rust implementation is checked against a second implementation.
import base64, hashlib, json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

def raw_pub(sk):
    return sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

def key_id(name, data):
    return hashlib.sha256(name.encode() + b"\n" + data).digest()[:4]

cases = []
for name, seed, body, ts in [
    ("witness.example/w1", bytes(range(32)),
     "example.com/veche\n5\n" + base64.b64encode(hashlib.sha256(b"root5").digest()).decode() + "\n", 1700000000),
    ("oid/1.3.6.1.4.1.99999.1", bytes([0x42]) * 32,
     "example.com/veche\n1234567\n" + base64.b64encode(hashlib.sha256(b"root1234567").digest()).decode() + "\nextension line\n", 1),
    ("w.example", bytes([0xff]) * 32,
     "example.com/veche\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 0),
]:
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pk = raw_pub(sk)
    cid = key_id(name, bytes([4]) + pk)
    T4, T1 = bytes([4]), bytes([1])
    vkey = name + "+" + cid.hex() + "+" + base64.b64encode(T4 + pk).decode()
    plain_id = key_id(name, bytes([1]) + pk)
    skey = "PRIVATE+KEY+" + name + "+" + plain_id.hex() + "+" + base64.b64encode(T1 + seed).decode()
    msg = f"cosignature/v1\ntime {ts}\n".encode() + body.encode()
    sig = sk.sign(msg)
    line = f"— {name} {base64.b64encode(cid + ts.to_bytes(8, 'big') + sig).decode()}\n"
    cases.append({
        "name": name,
        "seed_hex": seed.hex(),
        "skey": skey,
        "vkey": vkey,
        "key_id_hex": cid.hex(),
        "checkpoint_body": body,
        "timestamp": ts,
        "signed_message": msg.decode(),
        "signature_line": line,
    })
doc = {
    "description": "C2SP tlog-cosignature Ed25519 cosignature/v1 known-answer vectors: witness key (seed), its type-0x04 vkey and key ID, the signed message for a checkpoint body and timestamp, and the resulting note signature line. Generated independently of the Rust code with Python `cryptography` (Ed25519 is deterministic).",
    "vectors": cases,
}
print(json.dumps(doc, indent=2, ensure_ascii=False))
