"""cityservices: residence permits and police certificates, decided and issued online."""
