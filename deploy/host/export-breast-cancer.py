"""Write scikit-learn's breast-cancer data set to stdout as a plain CSV.

Run by deploy/host-setup.sh with python3 *inside* the trainer base image (no network, read
only), so the host needs no scikit-learn. The data comes from the CSV that Debian's
python3-sklearn ships; nothing here is hard-coded: the column names are sklearn's own
feature_names, followed by "target" (0 = malignant, 1 = benign, as sklearn encodes it).
Values are written with repr(), which round-trips every float64 exactly.
"""
import csv
import sys

from sklearn.datasets import load_breast_cancer

bunch = load_breast_cancer()
data, target = bunch.data, bunch.target
if data.shape != (569, 30) or target.shape != (569,):
    sys.exit(f"unexpected breast-cancer shape: data {data.shape}, target {target.shape}")

out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow([str(name) for name in bunch.feature_names] + ["target"])
for row, label in zip(data.tolist(), target.tolist()):
    out.writerow([repr(v) for v in row] + [int(label)])
