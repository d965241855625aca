"""Where models live: the folder format and manifest, the registry of versions, installed model packages."""
