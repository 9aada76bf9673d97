"""The licence library (电子证照库) and electronic seals (电子印章): licence types, seals with keys
certified by the bureau, issuing, rendering, verifying offline, the lifecycle and holders' consent."""
