print("crashers")
