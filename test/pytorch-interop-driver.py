"""The PyTorch half of test/pytorch-interop.pytorch.test.ts: `python3 pytorch-interop-driver.py JOB.json`.

For every case of the job: load the library's checkpoint into the interop module with strict=True,
run the forward pass on the case's inputs and write it. With "resave": one training-mode pass
(batch-norm statistics update), one SGD step on mean(output^2), the weights written back with the
interop writer (float32, and float16 beside them), and the forward pass of the new weights.
Also writes sqrt(alpha_bar) of the interop schedules, which the test compares with the library's.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop", "pytorch"))
from load import load_model, save_weights  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402
from schedule import Schedule  # noqa: E402


def run_case(case):
    torch.manual_seed(0)
    model, _ = load_model(case["weights"], case["config"])
    inputs, _ = load_file(case["inputs"])
    x, t = inputs["x"], inputs["t"]
    labels = inputs["labels"].long() if "labels" in inputs else None
    out = {}
    with torch.no_grad():
        out["eval"] = model(x, t, labels)
    if "resave" in case:
        model.train()
        y = model(x, t, labels)
        out["train"] = y.detach()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        y.pow(2).mean().backward()
        opt.step()
        save_weights(model, case["resave"])
        save_weights(model, case["resave"].replace(".safetensors", "-f16.safetensors"), dtype=torch.float16)
        model.eval()
        with torch.no_grad():
            out["after"] = model(x, t, labels)
    save_file(out, case["out"])


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    torch.set_num_threads(1)
    for case in job["cases"]:
        run_case(case)
    tables = {f"{c['kind']}-{c['T']}": Schedule(c).sqrt_alpha_bar for c in job["schedules"]}
    save_file(tables, job["schedulesOut"])
    print(f"torch {torch.__version__}: {len(job['cases'])} cases, {len(tables)} schedules")


if __name__ == "__main__":
    main()
