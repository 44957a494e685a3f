#!/usr/bin/env bash
# Makes the certificates the TLS tests use, in DIR (default target/tls): a test CA that
# signs a server certificate for 127.0.0.1/localhost and a client certificate, and a
# second CA that signs nothing the servers show (the "wrong CA" a client must refuse).
# Keys are P-256, in PKCS#8. Made once; kept while they are valid for another day.
set -euo pipefail
dir="${1:-target/tls}"
mkdir -p "$dir"
cd "$dir"
if [ -f other-ca.pem ] && openssl x509 -checkend 86400 -noout -in server.pem >/dev/null 2>&1; then
    exit 0
fi
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # name subject
    key "$1-key.pem"
    openssl req -x509 -new -key "$1-key.pem" -sha256 -days 30 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem" 2>/dev/null
}
leaf() { # name subject extensions
    key "$1-key.pem"
    openssl req -new -key "$1-key.pem" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 \
        -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}
ca ca "session tests CA"
ca other-ca "some other CA"
leaf server "localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf client "session-tests-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
chmod 600 ./*-key.pem
