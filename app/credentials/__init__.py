"""Certificates for wallets: SD-JWT VCs, the issuer's published keys and the Token Status List."""
