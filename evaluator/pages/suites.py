import streamlit as st

st.title("Suites")
st.info("This page is being built.")
