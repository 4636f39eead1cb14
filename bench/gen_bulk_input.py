#!/usr/bin/env python3
"""Writes N (default 100000) CSV lines for `keysat-issue bulk` to stdout: one header, distinct emails."""
import sys

k_product = "6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    out = ["product,email,days,entitlements"]
    out += [f"{k_product},user{i}@example.com,{30 + i % 365},pro;multi-device" for i in range(count)]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
