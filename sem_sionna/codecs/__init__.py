"""sem_sionna.codecs"""
