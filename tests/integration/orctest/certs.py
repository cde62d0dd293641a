"""Real certificates for the TLS tests, made with the openssl command line.

make_pki(directory) builds, in directory:
- ca.pem / ca-key.pem: the test CA;
- server-cert.pem / server-key.pem: CN=127.0.0.1, OU=orchestrator, subjectAltName IP:127.0.0.1,
  IP:127.0.0.2, IP:127.0.0.3, DNS:localhost, usable as a server and as a client certificate
  (orchestrator nodes present it to each other under mutual TLS);
- one client certificate per entry of `clients` ({name: OU or None}), signed by the CA:
  <name>-cert.pem / <name>-key.pem;
- other-ca.pem and mallory-cert.pem / mallory-key.pem: a client (OU=dba) signed by another CA;
- wrongname-cert.pem / wrongname-key.pem: a server certificate of the CA for wrong.example only.
Returns a dict of the paths as strings.
"""
import subprocess
from pathlib import Path

DEFAULT_CLIENTS = {"alice": "dba", "bob": "marketing", "carol": None}


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def _ca(d, name, cn):
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}-key.pem", "-out", f"{name}.pem", "-days", "3",
             "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _leaf(d, name, subj, ca, ext):
    (d / f"{name}.ext").write_text(ext)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", subj, cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
             "-CAcreateserial", "-out", f"{name}-cert.pem", "-days", "2", "-extfile",
             f"{name}.ext", cwd=d)


def make_pki(directory, clients=None):
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    clients = DEFAULT_CLIENTS if clients is None else clients
    _ca(d, "ca", "orchestrator test CA")
    _ca(d, "other-ca", "another CA")
    _leaf(d, "server", "/CN=127.0.0.1/OU=orchestrator", "ca",
          "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,DNS:localhost\n"
          "extendedKeyUsage=serverAuth,clientAuth\n")
    client_ext = "extendedKeyUsage=clientAuth\n"
    for name, ou in clients.items():
        subj = f"/CN={name}" + (f"/OU={ou}" if ou else "")
        _leaf(d, name, subj, "ca", client_ext)
    _leaf(d, "mallory", "/CN=mallory/OU=dba", "other-ca", client_ext)
    _leaf(d, "wrongname", "/CN=wrong.example", "ca",
          "subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n")
    for key in d.glob("*-key.pem"):
        key.chmod(0o600)
    paths = {p.stem: str(p) for p in d.glob("*.pem")}
    paths["dir"] = str(d)
    return paths
