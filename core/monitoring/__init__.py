"""What the dashboard records about its runs (`recording`: request metrics, anomalies the detection in
core.contract.anomaly_detection finds) and resolving an anomaly with the QNN service that reported it (`resolve`)."""
