"""Why a model predicts what it does: attribution over steps and features (Captum), what each
hidden unit responds to, the hardest held-out cases, and a planted-signal self-test."""
