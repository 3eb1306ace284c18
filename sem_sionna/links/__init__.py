"""sem_sionna.links"""
