#!/usr/bin/env python3
"""Converts the 8x8 handwritten digits Debian's python3-sklearn ships into apps/train's data.

The source is sklearn/datasets/data/digits.csv.gz: 1,797 images of 8x8 pixels with 17 grey
levels (0-16), then the label, one image per line. It is the test part of the UCI "Optical
Recognition of Handwritten Digits" data set (E. Alpaydin, C. Kaynak, 1998, CC BY 4.0,
https://doi.org/10.24432/C50P49). The output keeps the pixels as one byte each, base64, with a
fixed split: a permutation seeded by SEED puts TEST_COUNT images in the test set.

    /usr/bin/python3 digits.py --out ../../apps/train/data/digits.json
"""

import argparse
import base64
import gzip
import json
import os
import random

import sklearn

SEED = 15
TEST_COUNT = 360
SOURCE = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "digits.csv.gz")


def read_rows(path):
    with gzip.open(path, "rt") as f:
        rows = [[int(float(v)) for v in line.split(",")] for line in f if line.strip()]
    for r in rows:
        assert len(r) == 65 and all(0 <= v <= 16 for v in r[:64]) and 0 <= r[64] <= 9, r
    return rows


def part(rows):
    pixels = bytes(v for r in rows for v in r[:64])
    return {
        "count": len(rows),
        "pixels": base64.b64encode(pixels).decode("ascii"),
        "labels": "".join(str(r[64]) for r in rows),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = read_rows(SOURCE)
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    test = sorted(order[:TEST_COUNT])
    train = sorted(order[TEST_COUNT:])
    data = {
        "format": "conv2d-digits/1",
        "source": f"scikit-learn {sklearn.__version__} datasets/data/digits.csv.gz (Debian python3-sklearn)",
        "dataset": "UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak 1998)",
        "license": "CC BY 4.0, https://doi.org/10.24432/C50P49",
        "split": f"random.Random({SEED}).shuffle of the {len(rows)} rows; the first {TEST_COUNT} are the test set",
        "height": 8,
        "width": 8,
        "maxLevel": 16,
        "train": part([rows[i] for i in train]),
        "test": part([rows[i] for i in test]),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(data, f, indent=2)  # as biome formats it
        f.write("\n")
    print(f"{args.out}: {len(train)} train, {len(test)} test")


if __name__ == "__main__":
    main()
