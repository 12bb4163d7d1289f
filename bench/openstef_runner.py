"""Runs inside bench/.venv-openstef (OpenSTEF's own pins clash with the app's): JSON jobs on stdin, JSON to argv[1].

Each job: {"origin", "stamps" (history + horizon, local wall clock), "load" (null over the horizon),
"temp" (optional, same length)}. OpenSTEF's own pipeline: train_model_pipeline_core (model "xgb",
its default feature set: lags, rolling means, calendar, plus the weather columns given) on the
history, then create_forecast_pipeline_core for the horizon; its quantiles come from the same call.
The stamps are labelled UTC: OpenSTEF needs an aware index; the series is local wall-clock time.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def main() -> None:
    import logging
    import structlog
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    from openstef.data_classes.model_specifications import ModelSpecificationDataClass
    from openstef.data_classes.prediction_job import PredictionJobDataClass
    from openstef.pipeline.create_forecast import create_forecast_pipeline_core
    from openstef.pipeline.train_model import train_model_pipeline_core

    jobs = json.load(sys.stdin)
    out = []
    for job in jobs:
        index = pd.DatetimeIndex(pd.to_datetime(job["stamps"])).tz_localize("UTC")
        data = pd.DataFrame({"load": np.array(job["load"], dtype=float)}, index=index)
        if job.get("temp") is not None:
            data["temp"] = np.array(job["temp"], dtype=float)
        horizon = int(job["horizon"])
        pj = PredictionJobDataClass(id=1, model="xgb", forecast_type="demand", horizon_minutes=horizon * 30,
                                    resolution_minutes=int(job["resolution_min"]), name="bench", lat=-37.8, lon=144.9,
                                    quantiles=[0.025, 0.1, 0.9, 0.975])
        specs = ModelSpecificationDataClass(id=1)
        started = time.perf_counter()
        history = data.iloc[:-horizon]
        model, _, specs, _ = train_model_pipeline_core(pj, specs, history, horizons=[0.25, 47.0])
        model.path = "in-memory"  # normally set by its MLflow store; the forecast pipeline only logs it
        forecast = create_forecast_pipeline_core(pj, data, model, specs)
        elapsed = time.perf_counter() - started
        forecast = forecast.reindex(index[-horizon:])
        quantiles = sorted(c for c in forecast.columns if c.startswith("quantile_P"))
        out.append({"origin": job["origin"], "s": elapsed, "mean": forecast["forecast"].tolist(),
                    "quantiles": {c: forecast[c].tolist() for c in quantiles}})
        print(json.dumps({"done": job["origin"], "s": round(elapsed, 1)}), file=sys.stderr, flush=True)
    with open(sys.argv[1], "w") as handle:  # stdout carries xgboost's training log
        json.dump(out, handle)


if __name__ == "__main__":
    main()
