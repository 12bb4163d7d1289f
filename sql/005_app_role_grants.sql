-- The app role may backfill the numeric profile of runs stored before sql/003 (core/similarity.py),
-- and nothing else on optimization_embeddings.
grant update (profile) on optimization_embeddings to grid_app;
