"""The imperative shell of overage-credit-grant."""
