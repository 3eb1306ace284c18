"""sem_sionna.sweep"""
