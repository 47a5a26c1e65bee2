// lorctl: the command-line companion (issue 18).
print("lorctl: not built yet")
