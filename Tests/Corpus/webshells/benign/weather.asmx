<%@ WebService Language="C#" Class="Weather" %>
using System.Web.Services;
public class Weather : WebService {
  [WebMethod]
  public string Forecast(string city) { return "sunny in " + city; }
}
