import streamlit as st

st.title("Audit log")
st.info("This page is being built.")
