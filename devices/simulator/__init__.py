"""The simulated strap: a physiology model behind a real bumble BLE peripheral."""
