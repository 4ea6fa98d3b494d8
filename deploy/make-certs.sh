#!/bin/sh
# Certificates for mTLS between the P2HAM services and Temporal's frontend (docker-compose.yml), with openssl:
#   deploy/make-certs.sh [DIR]        (default deploy/certs; existing files are kept unless FORCE=1)
# DIR/ca.key stays offline after use (it signs new certificates); DIR/server/ is mounted into temporal, DIR/client/
# into api, worker, temporal-setup and temporal-ui. Rotation: README, "Production".
set -eu
DIR="${1:-deploy/certs}"
DAYS="${DAYS:-397}"
mkdir -p "$DIR/server" "$DIR/client"
if [ ! -f "$DIR/ca.key" ] || [ "${FORCE:-0}" = "1" ]; then
  openssl req -x509 -newkey rsa:4096 -nodes -sha256 -days 3650 -subj "/CN=P2HAM Temporal CA" \
    -keyout "$DIR/ca.key" -out "$DIR/ca.pem"
fi
sign() {  # sign NAME CN EXTENSION
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$2" -keyout "$DIR/$1.key" -out "$DIR/$1.csr"
  printf '%s\n' "$3" > "$DIR/$1.ext"
  openssl x509 -req -in "$DIR/$1.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial -days "$DAYS" \
    -sha256 -extfile "$DIR/$1.ext" -out "$DIR/$1.pem"
  rm "$DIR/$1.csr" "$DIR/$1.ext"
}
sign temporal temporal "subjectAltName=DNS:temporal,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
sign client p2ham-client "extendedKeyUsage=clientAuth"
cp "$DIR/ca.pem" "$DIR/temporal.pem" "$DIR/temporal.key" "$DIR/server/"
cp "$DIR/ca.pem" "$DIR/client.pem" "$DIR/client.key" "$DIR/client/"
chmod 600 "$DIR"/*.key "$DIR"/server/*.key "$DIR"/client/*.key
echo "certificates in $DIR (valid $DAYS days); keep $DIR/ca.key offline"
