print("pumpbench: not yet")
