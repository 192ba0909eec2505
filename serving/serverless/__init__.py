"""The façade on serverless GPUs: a RunPod worker that serves each job through the same app."""
