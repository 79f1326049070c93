-- The latest run's overall label agreement, rewrite vs independent annotator.
SELECT n, accuracy, kappa FROM marts.label_agreement_latest WHERE scope = 'overall'
